/* Test agent page (not a customer page: it may read its own URL): signs in with ?token=,
   auto-accepts the first ring, answers the offer. The recovery logic is the widget's Call
   as the impolite peer, which follows the Python agent (softphone/rtc/call_recovery.py). */
(() => {
  "use strict";
  const W = window.SoftphoneWidget;
  const params = new URLSearchParams(location.search);
  const events = new W.EventLog();
  const remote = document.querySelector(".sp-remote");
  let call = null;
  let stream = null;

  const signaling = new W.Signaling({
    url: params.get("server") || `ws://${location.host}/ws`,
    hello: { role: "agent", name: params.get("name"), token: params.get("token") },
    log: events,
    onMessage: onMessage,
  });

  function onMessage(msg) {
    events.add(`signal.${msg.type}`, msg.call_id ? { call_id: msg.call_id } : {});
    if (msg.type === "ring" && !call) {
      call = new W.Call({
        signaling: signaling,
        callId: msg.call_id,
        iceServers: Array.isArray(msg.ice_servers)
          ? msg.ice_servers
          : signaling.welcome?.ice_servers || [],
        stream: stream,
        polite: false,
        log: events,
        config: Object.assign(JSON.parse(params.get("config") || "{}"), signaling.policy()),
        onRemoteStream: (s) => {
          remote.srcObject = s;
        },
      });
      signaling.send({ type: "accept", call_id: msg.call_id });
    } else if (msg.type === "resumed" && call) {
      call.signalingResumed();
    } else if (msg.type === "hangup" && call && msg.call_id === call.callId) {
      call.close("ended");
      call = null;
    } else if (call && (msg.call_id === call.callId || msg.type === "error")) {
      call.handle(msg);
    }
  }

  async function start() {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    document.querySelector(".sp-local").srcObject = stream;
    await signaling.connect();
    signaling.send({ type: "presence", status: "available" });
    events.add("agent.signed_in");
  }

  document.querySelector("[data-softphone-agent]").softphone = {
    events: events,
    get call() {
      return call;
    },
  };
  start().catch((err) => events.add("agent.error", { message: String(err) }));
})();
