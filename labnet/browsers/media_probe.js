/*
 * Test-only media probe, injected into widget pages (page.add_init_script): records when
 * the remote video presents frames (requestVideoFrameCallback), the test-pattern stamp of
 * each (frame number + capture wall-clock ms, see softphone/media/pattern.py), and when
 * getStats saw video frames decoded / audio packets received grow (50 ms polls; rVFC alone
 * is not enough: a page's callbacks may stop while its decoder runs on).
 * Python reads window.__probe.since(t).
 */
(() => {
  "use strict";
  const COLUMNS = 16,
    ROWS = 5,
    BLOCK_ROWS_OF_FRAME = 15,
    THRESHOLD = (16 + 235) >> 1;
  const LIMIT = 4000;
  const frames = []; // {t, n, ts}  (n/ts null when the picture carries no stamp)
  const audio = []; // t of each poll that saw audio packetsReceived grow
  const decoded = []; // t of each poll that saw video framesDecoded grow
  let canvas = null,
    ctx = null,
    watched = null,
    lastAudio = null,
    lastDecoded = null;
  let chain = 0,
    lastCallback = 0; // a stalled callback chain is replaced by a new one

  const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c >>> 0;
    }
    return table;
  })();

  function crc32(bytes) {
    let c = 0xffffffff;
    for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  function readStamp(video) {
    const w = video.videoWidth,
      h = video.videoHeight;
    const bw = Math.floor(w / COLUMNS),
      bh = Math.floor(h / BLOCK_ROWS_OF_FRAME);
    if (bw < 4 || bh < 4) return null;
    if (!canvas || canvas.width !== w || canvas.height !== ROWS * bh) {
      canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = ROWS * bh;
      ctx = canvas.getContext("2d", { willReadFrequently: true });
    }
    ctx.drawImage(video, 0, 0, w, ROWS * bh, 0, 0, w, ROWS * bh);
    const px = ctx.getImageData(0, 0, w, ROWS * bh).data;
    const bits = [];
    for (let row = 0; row < ROWS; row++) {
      const y0 = row * bh + (bh >> 2);
      const ys = [y0, y0 + (bh >> 2), y0 + (bh >> 1)];
      for (let col = 0; col < COLUMNS; col++) {
        const x0 = col * bw + (bw >> 2);
        const xs = [x0, x0 + (bw >> 2), x0 + (bw >> 1)];
        let total = 0;
        for (const y of ys)
          for (const x of xs) {
            const i = 4 * (y * w + x);
            total += (px[i] * 77 + px[i + 1] * 150 + px[i + 2] * 29) >> 8;
          }
        bits.push(total > THRESHOLD * 9 ? 1 : 0);
      }
    }
    const bytes = [];
    for (let i = 0; i < 10; i++) {
      let v = 0;
      for (let k = 0; k < 8; k++) v = (v << 1) | bits[i * 8 + k];
      bytes.push(v);
    }
    const check = ((bytes[8] << 8) | bytes[9]) >>> 0;
    if (check !== ((crc32(bytes.slice(0, 8)) & 0xffff) ^ 0x5a5a)) return null;
    const word = (a) =>
      ((bytes[a] << 24) | (bytes[a + 1] << 16) | (bytes[a + 2] << 8) | bytes[a + 3]) >>> 0;
    return { n: word(0), ts: word(4) };
  }

  function push(list, item) {
    list.push(item);
    if (list.length > LIMIT) list.shift();
  }

  function arm(video) {
    const id = ++chain;
    const onFrame = () => {
      if (id !== chain) return;
      lastCallback = Date.now();
      video.requestVideoFrameCallback(onFrame);
      let stamp = null;
      try {
        stamp = readStamp(video);
      } catch (_e) {
        stamp = null;
      }
      push(frames, { t: Date.now(), n: stamp ? stamp.n : null, ts: stamp ? stamp.ts : null });
    };
    lastCallback = Date.now();
    video.requestVideoFrameCallback(onFrame);
  }

  async function pollStats() {
    const call = window.__probeCall ? window.__probeCall() : null;
    if (!call?.pc || call.pc.connectionState === "closed") return;
    const report = await call.pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        if (lastAudio !== null && s.packetsReceived > lastAudio) push(audio, Date.now());
        lastAudio = s.packetsReceived;
      }
      if (s.type === "inbound-rtp" && s.kind === "video") {
        if (lastDecoded !== null && s.framesDecoded > lastDecoded) push(decoded, Date.now());
        lastDecoded = s.framesDecoded;
      }
    });
  }

  setInterval(() => {
    const video = document.querySelector(window.__probeSelector || ".sp-remote");
    if (video?.requestVideoFrameCallback) {
      if (video !== watched || Date.now() - lastCallback > 1000) arm(video);
      watched = video;
    }
  }, 100);
  // One poll at a time: the next starts 50 ms after the previous getStats answered.
  function pollLoop() {
    pollStats()
      .catch(() => null)
      .then(() => setTimeout(pollLoop, 50));
  }
  pollLoop();

  // The call of the widget (or the test agent page): the host element's handle.
  window.__probeCall = () => {
    const host = document.querySelector("[data-softphone-widget], [data-softphone-agent]");
    return host?.softphone ? host.softphone.call : null;
  };
  window.__probe = {
    frames: frames,
    audio: audio,
    decoded: decoded,
    /* Entries at or after wall-clock ms t. */
    since: (t) => ({
      frames: frames.filter((f) => f.t >= t),
      audio: audio.filter((a) => a >= t),
      decoded: decoded.filter((d) => d >= t),
    }),
  };
})();
