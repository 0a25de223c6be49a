"""Real browsers as lab equipment: Chromium (playwright) and Firefox (WebDriver BiDi), the
test pages, and the browser-in-a-namespace runners shared by tests/browser and the benches."""
