/* Test embedding page: mounts the widget through the init API with #<json> settings. */
(() => {
  "use strict";
  const config = JSON.parse(decodeURIComponent(location.hash.slice(1)) || "{}");
  SoftphoneWidget.mount(document.getElementById("visitor"), { name: "Browser", config: config });
})();
