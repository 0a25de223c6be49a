/*
 * Softphone "Call an agent" widget: plain JS, no build step, no inline script or style
 * (it runs under a CSP of script-src/style-src 'self' and connect-src of its own server).
 *
 * Embed (configuration comes only from the embedding page, never from its address bar):
 *   <div data-softphone-widget data-site-key="KEY"></div>
 *   <script src="https://SERVER/widget/widget.js" defer></script>
 * or, from the page's own script: SoftphoneWidget.mount(element, {siteKey: "KEY"}), which
 * returns the widget (the element's `softphone` property holds it too).
 * Options (data attributes or mount() options): server (data-server, comma-separated for
 * several servers of one service, or mount({servers: [...]}); default: the origin this
 * script was served from, ws[s]://host/ws), visitorToken (data-visitor-token: minted
 * by the site's backend), siteKey (data-site-key: the widget asks the server for a visitor
 * token, POST /visitor-token), name (data-name), config (mount() only: timing fallbacks).
 * The reconnect policy (attempts, timeouts, backoff, re-issue interval) comes from the
 * server's welcome; DEFAULTS only stand in for a server that sends none.
 * getUserMedia needs a secure context: serve the page over https (or from localhost).
 *
 * Why the reconnection logic looks the way it does (measured with Chromium 150-156):
 * - iceConnectionState never reaches "failed" (it stays "disconnected"); only
 *   connectionState fails, ~10 s after "disconnected". So we watch connectionState and
 *   run our own per-attempt timer.
 * - Chromium notices a dead path only after ~5 s of STUN timeouts and ignores address
 *   changes: the widget watches for inbound silence itself (1.2 s). Those timeouts also
 *   come from plain loss: at 30 % each way half its checks go unanswered, and 5 in a row
 *   over 5 s ("disconnected") happened in 1 of 4 calls of 20 s while media kept flowing
 *   both ways (bench/networks.py loss_30). So "disconnected" while media still arrives is
 *   no loss: the watchdog judges (a dead path goes silent, a dead way out is the peer's to
 *   see: its own silence check); with nothing arriving (Firefox says it the moment its
 *   address goes) the widget restarts at once.
 * - A WebSocket whose local address vanished never errors: the signaling has its own
 *   heartbeat, probed at once when the media path dies, then reconnects and resumes (and
 *   the pending restart offer is sent again: writes to the dead socket were lost).
 * - Server restarts (docs/operations.md): a refused resume means the server forgot the
 *   session, not the call: fresh hello, then reattach{ticket}; the media never stopped.
 * - Glare as in the Python agent (softphone/rtc/call_recovery.py): the visitor is polite
 *   and rolls its offer back to answer; the impolite side (the test agent page) keeps its
 *   own offer, and when that offer is stale (the peer never saw it) issues a fresh one.
 */
(() => {
  "use strict";

  const PROTOCOL = 1;
  const DEFAULTS = {
    // The reconnect policy: replaced by the server's welcome.reconnect when it sends one.
    maxAttempts: 3,
    attemptTimeoutMs: 10000,
    backoffMs: [1000, 2000],
    reissueIntervalMs: 2500, // an own restart offer unanswered this long: issue a fresh one
    probeTimeoutMs: 1000, // a pong must come this fast after a probe, or the socket is dead
    // After a whole round of server URLs failed (at most 2 s: a restarted server is found
    // within 2 s of listening again).
    reconnectBackoffMs: [0, 250, 500, 1000, 2000],
    connectTimeoutMs: 5000, // a socket not welcomed by then is given up (a dead link may
    // leave a TCP connect hanging for minutes)
    recoveryPollMs: 250,
    // Nothing at all received (RTP, RTCP, STUN) for this long while "connected": restart.
    // Chromium itself says "disconnected" only after ~5 s. The agent never goes silent
    // (a muted mic sends silence, a disabled camera black frames), so a false alarm costs
    // one harmless make-before-break restart. 0 turns the watchdog off.
    silenceMs: 1200,
    silencePollMs: 200,
    disconnectedLookMs: 150, // media still arriving over this long: "disconnected" was loss
    staleOfferMs: 1000, // as STALE_OWN_OFFER_S in the Python agent
    queueLimit: 256,
    maxEpisodes: 100, // call_report carries at most this many
  };

  // An error answering one of our restart offers with one of these: the server cannot
  // reach the peer now (it lost the call, or the peer has not re-attached yet).
  const PEER_UNREACHABLE = ["unknown_call", "not_in_call", "not_available"];
  const RESTART_ID = "restart-";
  // An offer the peer never got, and an answer that came after we applied an older one.
  const FRESH_WHEN_CONNECTED = ["peer-missed-offer", "late-answer"];

  /* Server URLs from a list or a comma-separated string, blanks dropped. */
  function serverList(value) {
    const items = Array.isArray(value) ? value : String(value || "").split(",");
    return items.map((u) => String(u).trim()).filter((u) => u);
  }

  function settings(overrides) {
    return Object.assign({}, DEFAULTS, overrides || {});
  }

  /* welcome.reconnect (seconds) as widget settings (ms); {} when absent or malformed. */
  function serverPolicy(welcome) {
    const r = welcome?.reconnect;
    if (!r || typeof r !== "object") return {};
    const out = {};
    if (Number.isInteger(r.max_attempts) && r.max_attempts > 0) out.maxAttempts = r.max_attempts;
    if (typeof r.attempt_timeout_s === "number" && r.attempt_timeout_s > 0) {
      out.attemptTimeoutMs = r.attempt_timeout_s * 1000;
    }
    if (
      Array.isArray(r.backoff_s) &&
      r.backoff_s.length &&
      r.backoff_s.every((v) => typeof v === "number" && v >= 0)
    ) {
      out.backoffMs = r.backoff_s.map((v) => v * 1000);
    }
    if (typeof r.reissue_interval_s === "number" && r.reissue_interval_s > 0) {
      out.reissueIntervalMs = r.reissue_interval_s * 1000;
    }
    return out;
  }

  /* Everything received on the call's transports (RTP, RTCP, STUN). Firefox's transport
     stats carry no byte counts: there, the selected candidate pair's count stands in. */
  function receivedBytes(report) {
    const pairs = new Map();
    report.forEach((s) => {
      if (s.type === "candidate-pair") pairs.set(s.id, s);
    });
    let bytes = 0;
    report.forEach((s) => {
      if (s.type !== "transport") return;
      if (typeof s.bytesReceived === "number") bytes += s.bytesReceived;
      else bytes += pairs.get(s.selectedCandidatePairId)?.bytesReceived || 0;
    });
    return bytes;
  }

  function iceUfrag(sdp) {
    return /^a=ice-ufrag:(\S+)/m.exec(sdp || "")?.[1] || null;
  }

  function now() {
    return Math.round(performance.timeOrigin + performance.now());
  }

  /* An error with a stable code (as the Python client's SignalingError). */
  class SignalingError extends Error {
    constructor(code, message) {
      super(message || code);
      this.code = code;
    }
  }

  /* A bounded in-memory event log that tests and support can read (widget.events). */
  class EventLog {
    constructor(limit) {
      this.limit = limit || 500;
      this.items = [];
    }
    add(event, fields) {
      const item = Object.assign({ t: now(), event: event }, fields || {});
      this.items.push(item);
      if (this.items.length > this.limit) this.items.shift();
      if (window.console && console.debug) console.debug("[softphone]", event, fields || "");
      return item;
    }
  }

  /*
   * One signaling connection: hello (or resume), heartbeat, reconnect with backoff,
   * an outgoing queue while the socket is down. Messages go to onMessage, except the
   * transport-level ones (welcome, pong).
   */
  class Signaling {
    constructor(opts) {
      this.urls = serverList(opts.url);
      this.node = 0; // index in urls of the server in use
      this.misses = 0; // servers left in a row without a welcome (or draining)
      this.draining = false; // this server said notice{server_draining}: its close follows
      this.signedIn = false; // the current socket got a welcome
      this.hello = Object.assign({ type: "hello", protocol: PROTOCOL }, opts.hello);
      // Credentials for a fresh hello after resume_failed (a visitor mints a new token).
      this.freshCredentials = opts.freshCredentials || (async () => ({}));
      this.onMessage = opts.onMessage || (() => {});
      this.onState = opts.onState || (() => {});
      this.log = opts.log;
      this.cfg = settings(opts.config);
      this.state = "closed"; // connecting | open | reconnecting | closed
      this.welcome = null;
      this.resumeToken = null;
      this.lastSeq = 0; // highest seq received: a resume asks for what came after it
      this.queue = [];
      this.ws = null;
      this.failures = 0;
      this.pongDeadline = null;
      this.pongDueAt = 0;
      this.heartbeat = null;
      this.retryTimer = null;
      this.connectTimer = null;
      this.closedByUs = false;
      this._welcomed = null;
    }

    get url() {
      return this.urls[this.node];
    }

    /* Resolves with the first welcome; rejects if the server refuses the hello. */
    connect() {
      this.closedByUs = false;
      const done = new Promise((resolve, reject) => {
        this._welcomed = { resolve: resolve, reject: reject };
      });
      this._open("connecting");
      return done;
    }

    /* Send now, or queue until the session is back. A full queue refuses the message
       (throws SignalingError "queue_full", as the Python client raises): dropping the
       oldest would silently lose e.g. a hangup or an offer. */
    send(msg) {
      if (this.state === "open" && this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify(msg));
        return;
      }
      if (this.state === "closed") throw new SignalingError("closed", "signaling is closed");
      if (this.queue.length >= this.cfg.queueLimit) {
        throw new SignalingError("queue_full", "signaling is down and the send queue is full");
      }
      this.queue.push(msg);
    }

    /* The reconnect policy: the server's (welcome.reconnect) over the local fallbacks. */
    policy() {
      return serverPolicy(this.welcome);
    }

    /* Check the socket now (the media path just died: is signaling alive too?). */
    probe() {
      if (this.state !== "open") return;
      this._ping(this.cfg.probeTimeoutMs);
    }

    close() {
      this.closedByUs = true;
      this._stopTimers();
      clearTimeout(this.retryTimer);
      if (this.ws) {
        this.ws.onclose = this.ws.onmessage = this.ws.onerror = null;
        this.ws.close(1000, "bye");
        this.ws = null;
      }
      this._setState("closed");
    }

    _setState(state) {
      if (state === this.state) return;
      this.state = state;
      this.log.add(`signaling.${state}`);
      this.onState(state);
    }

    _open(state) {
      this._setState(state);
      const ws = new WebSocket(this.url);
      this.ws = ws;
      clearTimeout(this.connectTimer);
      this.connectTimer = setTimeout(
        () => this._lost("connect timeout"),
        this.cfg.connectTimeoutMs,
      );
      ws.onopen = () => {
        const first = this.resumeToken
          ? {
              type: "resume",
              protocol: PROTOCOL,
              resume_token: this.resumeToken,
              last_seq: this.lastSeq,
            }
          : this.hello;
        ws.send(JSON.stringify(first));
      };
      ws.onmessage = (event) => this._receive(event.data);
      ws.onclose = (event) => this._lost(`closed ${event.code}`);
      ws.onerror = () => this.log.add("signaling.socket_error");
    }

    _receive(data) {
      clearTimeout(this.pongDeadline);
      this.pongDeadline = null;
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (_e) {
        this.log.add("signaling.bad_frame");
        return;
      }
      if (msg.type === "pong") return;
      if (msg.type === "notice") {
        this.log.add("signaling.notice", { code: String(msg.code), url: this.url });
        if (msg.code === "server_draining") this.draining = true; // move on at its close
        return;
      }
      if (typeof msg.seq === "number") {
        if (msg.seq <= this.lastSeq) return; // replayed after a resume but seen already
        this.lastSeq = msg.seq;
      }
      if (msg.type === "welcome") {
        this._welcome(msg);
        return;
      }
      if (msg.type === "error" && msg.code === "resume_failed") {
        // The server forgot our session (grace expired, restarted, another node): a fresh
        // hello. A live call is not lost with it: the widget re-attaches it (session_lost
        // is where it queues reattach, first after the hello).
        this.log.add("signaling.resume_failed", { dropped: this.queue.length });
        this.resumeToken = null;
        this.lastSeq = 0;
        this.queue = []; // those messages belonged to the lost session (Python clears too)
        this.onMessage({ type: "session_lost" });
        this._freshHello(this.ws);
        return;
      }
      if (msg.type === "error" && this._welcomed && !this.welcome) {
        // Refused before any welcome (unauthorized, rate_limited, ...): connect() fails.
        this._welcomed.reject(new SignalingError(String(msg.code), msg.message || ""));
        this._welcomed = null;
      }
      this.onMessage(msg);
    }

    async _freshHello(ws) {
      let credentials = {};
      try {
        credentials = await this.freshCredentials(this.url);
      } catch (err) {
        this.log.add("signaling.fresh_credentials_failed", { code: err.code || String(err) });
      }
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return; // lost meanwhile
      ws.send(JSON.stringify(Object.assign({}, this.hello, credentials)));
    }

    _welcome(msg) {
      clearTimeout(this.connectTimer);
      this.signedIn = true;
      this.misses = 0;
      this.welcome = msg;
      this.resumeToken = msg.resume_token;
      if (!msg.resumed) this.lastSeq = 0; // a new session counts from 1
      if (msg.replay_gap) this.log.add("signaling.replay_gap", { last_seq: this.lastSeq });
      this.failures = 0;
      this._setState("open");
      this.log.add("signaling.welcome", {
        resumed: !!msg.resumed,
        call_id: msg.call_id || null,
        url: this.url,
      });
      const pending = this.queue.splice(0);
      for (const queued of pending) this.ws.send(JSON.stringify(queued));
      this._startHeartbeat(msg.heartbeat_interval);
      if (this._welcomed) {
        this._welcomed.resolve(msg);
        this._welcomed = null;
      }
      if (msg.resumed) this.onMessage({ type: "resumed", call_id: msg.call_id || null });
    }

    _startHeartbeat(intervalS) {
      this._stopTimers();
      const intervalMs = Math.max(1, intervalS || 10) * 1000;
      this.heartbeat = setInterval(() => this._ping(intervalMs / 2), intervalMs);
    }

    _ping(deadlineMs) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      // ack: the highest seq received, so the server can trim its replay history.
      this.ws.send(JSON.stringify({ type: "ping", ack: this.lastSeq || null }));
      const due = Date.now() + deadlineMs;
      if (this.pongDeadline === null || due < this.pongDueAt) {
        clearTimeout(this.pongDeadline); // a probe tightens a pending heartbeat's deadline
        this.pongDueAt = due;
        this.pongDeadline = setTimeout(() => this._lost("no pong"), deadlineMs);
      }
    }

    _stopTimers() {
      clearTimeout(this.connectTimer);
      clearInterval(this.heartbeat);
      clearTimeout(this.pongDeadline);
      this.heartbeat = this.pongDeadline = null;
    }

    _lost(why) {
      if (this.closedByUs) return;
      this._stopTimers();
      if (this.ws) {
        this.ws.onclose = this.ws.onmessage = this.ws.onerror = null;
        try {
          this.ws.close();
        } catch (_e) {
          /* already closing */
        }
        this.ws = null;
      }
      // A server that could not be reached (no welcome) or that is draining is left for
      // the next one at once; the backoff starts only after a whole round failed.
      const moved = (!this.signedIn || this.draining) && this._nextNode();
      this.signedIn = this.draining = false;
      if (!moved && this._welcomed && !this.resumeToken) {
        // The message is the technical reason ("closed 1006"): the widget words the rest.
        this._welcomed.reject(new SignalingError("server", why));
        this._welcomed = null;
        this._setState("closed");
        return;
      }
      let delay = 0;
      if (!moved) {
        const delays = this.cfg.reconnectBackoffMs;
        delay = delays[Math.min(this.failures, delays.length - 1)];
        this.failures += 1;
      }
      this.log.add("signaling.lost", { why: why, retry_ms: delay, next: this.url });
      this._setState(this._welcomed ? "connecting" : "reconnecting");
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this._open(this.state), delay);
    }

    /* On to the next server URL; true to try it without a backoff (a round is not over). */
    _nextNode() {
      if (this.urls.length < 2) return false;
      this.node = (this.node + 1) % this.urls.length;
      this.misses += 1;
      return this.misses % this.urls.length !== 0;
    }
  }

  /*
   * One call's RTCPeerConnection: the initial exchange, trickled candidates, and the
   * ICE-restart side of reconnection (detect, restart up to maxAttempts, answer the
   * peer's restarts, roll back in glare when polite).
   */
  class Call {
    constructor(opts) {
      this.signaling = opts.signaling;
      this.callId = opts.callId;
      this.polite = opts.polite !== false;
      this.log = opts.log;
      this.cfg = settings(opts.config);
      this.onState = opts.onState || (() => {});
      this.onRemoteStream = opts.onRemoteStream || (() => {});
      this.state = "connecting"; // connecting | connected | reconnecting | failed | ended
      this.attempt = 0;
      this.restarts = 0; // completed ICE restarts (either side), for tests and support
      this.pendingCandidates = [];
      this.attemptTimer = null;
      this.backoffTimer = null;
      this.reissueTimer = null;
      this.pollTimer = null;
      this.polling = false;
      this.watchdog = null;
      this.lastInbound = null;
      this.offerSentAt = 0;
      this.offersSent = 0; // numbers our restart offers' ids (restart-<attempt>-<n>)
      this.peerUnreachable = false; // this episode: signaling said the peer is not there
      this.episode = null; // the interruption in progress: {trigger, origin, start}
      this.episodes = []; // finished ones, for call_report
      this.chain = Promise.resolve(); // SDP work runs one step at a time, in arrival order
      this.pc = new RTCPeerConnection({ iceServers: opts.iceServers || [] });
      if (opts.stream) {
        for (const track of opts.stream.getTracks()) this.pc.addTrack(track, opts.stream);
      }
      this.pc.onicecandidate = (e) => this._sendCandidate(e.candidate);
      this.pc.ontrack = (e) => this.onRemoteStream(e.streams[0] || new MediaStream([e.track]));
      this.pc.onconnectionstatechange = () => this._connectionChanged();
    }

    /* The visitor sends the first offer (protocol: after "accepted"). */
    start() {
      return this._serial(async () => {
        await this.pc.setLocalDescription(await this.pc.createOffer());
        this._send({ type: "offer", sdp: this.pc.localDescription.sdp });
      });
    }

    /* A relayed message of this call. */
    handle(msg) {
      switch (msg.type) {
        case "offer":
          return this._serial(() => this._answer(msg, "answer"));
        case "answer":
          return this._serial(() => this._acceptAnswer(msg));
        case "restart_offer":
          return this._serial(() => this._restartOffered(msg));
        case "restart_answer":
          return this._serial(() => this._acceptAnswer(msg));
        case "candidate":
          return this._serial(() => this._addCandidate(msg));
        case "error":
          if (msg.code === "restart_cap") this.log.add("call.restart_refused");
          if (PEER_UNREACHABLE.includes(msg.code) && String(msg.ref || "").startsWith(RESTART_ID)) {
            this._peerUnreachable(msg.code);
          }
          return Promise.resolve();
        default:
          return Promise.resolve();
      }
    }

    /*
     * Signaling came back on a new socket: what we wrote to the dead one is lost (a socket
     * whose address vanished swallows writes). Send our pending restart offer again.
     */
    signalingResumed() {
      this._serial(async () => {
        if (this.state !== "reconnecting" || this.pc.signalingState !== "have-local-offer") return;
        this.log.add("call.restart_offer_resent", { attempt: this.attempt });
        this._sendOffer(this.attempt, "signaling-resumed");
      });
    }

    /* Start a reconnect episode by hand (tests, a "reconnect" button). */
    restart(reason) {
      if (this.state === "connected") this._beginReconnect(reason || "manual");
    }

    /* call_report: every interruption of this call and how it ended (at call end). */
    report() {
      return {
        type: "call_report",
        call_id: this.callId,
        episodes: this.episodes.slice(-this.cfg.maxEpisodes),
      };
    }

    hangup(reason) {
      if (this.state === "ended") return;
      this._send({ type: "hangup", reason: reason || "normal" });
      this.close("ended");
    }

    close(finalState) {
      this._endEpisode("call-ended");
      this._clearTimers();
      this.pc.onconnectionstatechange = this.pc.onicecandidate = this.pc.ontrack = null;
      this.pc.close();
      this._setState(finalState || "ended");
    }

    async transportStats() {
      const report = await this.pc.getStats();
      const out = { transports: [], inbound: {}, pairs: [] };
      report.forEach((s) => {
        if (s.type === "transport") out.transports.push(s);
        if (s.type === "inbound-rtp") out.inbound[s.kind] = s;
        if (s.type === "candidate-pair" && s.nominated) out.pairs.push(s);
      });
      return out;
    }

    // --- internals -------------------------------------------------------------------

    _serial(step) {
      const run = this.chain.then(step).catch((err) => {
        this.log.add("call.error", { message: String(err?.message ? err.message : err) });
      });
      this.chain = run;
      return run;
    }

    _send(msg) {
      try {
        this.signaling.send(Object.assign({ call_id: this.callId }, msg));
      } catch (err) {
        this.log.add("call.send_refused", { type: msg.type, code: err.code || String(err) });
      }
    }

    _setState(state, fields) {
      if (state === this.state && !fields) return;
      this.state = state;
      this.log.add(`call.${state}`, Object.assign({ call_id: this.callId }, fields || {}));
      this.onState(state, fields || {});
    }

    _sendCandidate(candidate) {
      this._send({
        type: "candidate",
        candidate: candidate ? candidate.candidate : null,
        sdp_mid: candidate ? candidate.sdpMid : null,
        sdp_mline_index: candidate ? candidate.sdpMLineIndex : null,
        ufrag: candidate ? candidate.usernameFragment : null,
      });
    }

    async _addCandidate(msg) {
      if (!msg.candidate) return; // end-of-candidates: nothing Chromium needs
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(msg);
        return;
      }
      try {
        await this.pc.addIceCandidate({
          candidate: msg.candidate.startsWith("candidate:")
            ? msg.candidate
            : `candidate:${msg.candidate.replace(/^a=candidate:/, "")}`,
          sdpMid: msg.sdp_mid,
          sdpMLineIndex: msg.sdp_mline_index,
          usernameFragment: msg.ufrag || undefined,
        });
      } catch (err) {
        // A candidate of an ICE generation that a restart replaced: harmless.
        this.log.add("call.candidate_ignored", { message: String(err.message || err) });
      }
    }

    async _flushCandidates() {
      const pending = this.pendingCandidates.splice(0);
      for (const msg of pending) await this._addCandidate(msg);
    }

    async _answer(msg, replyType) {
      if (this.pc.signalingState === "have-local-offer") {
        if (!this.polite) {
          // Impolite keeps its offer, as the Python agent does. An offer of ours that old
          // was never seen by the peer (lost in a dead socket): issue a fresh one now
          // rather than wait for the re-issue timer.
          const stale = Date.now() - this.offerSentAt > this.cfg.staleOfferMs;
          this.log.add("call.glare_kept_own_offer", { attempt: msg.attempt || null, stale: stale });
          if (stale) this._serial(() => this._sendRestartOffer("peer-missed-offer"));
          return false;
        }
        this.log.add("call.glare_rollback", { attempt: msg.attempt || null });
        await this.pc.setLocalDescription({ type: "rollback" });
      }
      await this.pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      await this._flushCandidates();
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      const reply = { type: replyType, sdp: this.pc.localDescription.sdp };
      if (replyType === "restart_answer") reply.attempt = msg.attempt;
      this._send(reply);
      return true;
    }

    async _restartOffered(msg) {
      this.log.add("call.restart_offered", { attempt: msg.attempt, reason: msg.reason || "" });
      if (this.state === "connected" && !this.episode) this._startEpisode("remote-restart", "peer");
      if (!(await this._answer(msg, "restart_answer"))) return;
      if (this.state === "reconnecting") this._armAttemptTimer(); // give this exchange its time
      this._expectRestartDone();
    }

    async _acceptAnswer(msg) {
      if (this.pc.signalingState !== "have-local-offer") {
        const current = this.pc.remoteDescription?.sdp;
        const live = this.state === "reconnecting" || this.state === "connected";
        if (msg.type === "restart_answer" && live && current) {
          if (iceUfrag(msg.sdp) !== iceUfrag(current)) {
            // As the Python agent: we re-issued before our first offer was answered, and
            // took that answer for the newer offer. The peer now answers with other ICE
            // credentials than the ones we applied: restart once more, or we would check
            // a dead generation until the attempt times out. Also once media came back on
            // the old path: the peer nominates a pair of its newer generation, and our
            // consent checks there would go unanswered (a new episode seconds later).
            this.log.add("call.late_restart_answer", { state: this.state });
            await this._sendRestartOffer("late-answer");
            return;
          }
        }
        this.log.add("call.stale_answer", { type: msg.type });
        return;
      }
      await this.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
      await this._flushCandidates();
      if (msg.type === "restart_answer") this._expectRestartDone();
    }

    _connectionChanged() {
      const s = this.pc.connectionState;
      this.log.add("pc.connection_state", { state: s });
      if (s === "connected" && this.state === "connecting") {
        this._setState("connected");
        this._watchSilence();
      } else if (s === "connected" && this.state === "reconnecting") {
        this._pollRecovery();
      } else if ((s === "disconnected" || s === "failed") && this.state !== "connecting") {
        if (this.state !== "connected") return;
        if (s === "disconnected" && this.watchdog !== null) this._judgeDisconnected();
        else this._beginReconnect(s);
      } else if (s === "failed" && this.state === "connecting") {
        this._fail("connect-failed");
      }
    }

    /* "disconnected" is judged by whether media still arrives, looked at twice
       disconnectedLookMs apart: Firefox says it when its address goes (nothing arrives:
       reconnect at once), Chromium also after loss alone (media flowing: the watchdog
       judges; a dead way out is the peer's silence check to see). */
    async _judgeDisconnected() {
      let before, after;
      try {
        before = receivedBytes(await this.pc.getStats());
        await new Promise((resolve) => setTimeout(resolve, this.cfg.disconnectedLookMs));
        if (this.state !== "connected" || this.pc.connectionState !== "disconnected") return;
        after = receivedBytes(await this.pc.getStats());
      } catch {
        return; // closed meanwhile: the call is over
      }
      if (this.state !== "connected") return;
      if (after !== before) {
        this.log.add("call.disconnected_ignored", { bytes: after - before });
      } else {
        this._beginReconnect("disconnected");
      }
    }

    _watchSilence() {
      if (!this.cfg.silenceMs || this.watchdog !== null) return;
      let lastBytes = -1;
      let quietSince = Date.now();
      // One look at a time: the next is scheduled only after getStats() answered (a slow
      // getStats under load must not pile up overlapping calls, as setInterval would).
      const look = async () => {
        if (this.state === "connected") {
          const bytes = receivedBytes(await this.pc.getStats());
          if (bytes !== lastBytes) {
            lastBytes = bytes;
            quietSince = Date.now();
          } else if (Date.now() - quietSince >= this.cfg.silenceMs && this.state === "connected") {
            this.log.add("call.silence", { ms: Date.now() - quietSince });
            this._beginReconnect("media-silence");
          }
        } else {
          quietSince = Date.now();
        }
        if (this.watchdog !== null) this.watchdog = setTimeout(look, this.cfg.silencePollMs);
      };
      this.watchdog = setTimeout(look, this.cfg.silencePollMs);
    }

    _beginReconnect(reason) {
      this.attempt = 0;
      this.peerUnreachable = false;
      if (this.episode?.origin === "peer") this.episode.origin = "local"; // we drive it now
      if (!this.episode) this._startEpisode(reason, "local");
      this._send({ type: "call_state", state: "reconnecting" });
      this.signaling.probe();
      this._setState("reconnecting", { attempt: 0, max: this.cfg.maxAttempts, reason: reason });
      this._nextAttempt(reason);
    }

    _nextAttempt(reason) {
      if (this.state !== "reconnecting") return;
      if (this.attempt >= this.cfg.maxAttempts) {
        this._fail("reconnect-failed");
        return;
      }
      this.attempt += 1;
      this._setState("reconnecting", {
        attempt: this.attempt,
        max: this.cfg.maxAttempts,
        reason: reason,
      });
      this._armAttemptTimer();
      this._pollRecovery();
      this._serial(() => this._sendRestartOffer(reason));
    }

    async _sendRestartOffer(reason) {
      if (this.state === "ended" || this.state === "failed") return;
      // Two reasons need a fresh generation on a connected call too, without an episode.
      if (this.state !== "reconnecting" && !FRESH_WHEN_CONNECTED.includes(reason)) return;
      if (this.pc.signalingState === "have-remote-offer") {
        this.log.add("call.restart_deferred", { signaling_state: this.pc.signalingState });
        return; // we are answering the peer's restart: let that exchange finish
      }
      if (this.pc.signalingState === "have-local-offer") {
        await this.pc.setLocalDescription({ type: "rollback" }); // our unanswered offer
      }
      this.pc.restartIce();
      await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: true }));
      this._sendOffer(this.attempt, reason);
    }

    _sendOffer(attempt, reason) {
      this.offerSentAt = Date.now();
      this._armReissue();
      this.offersSent += 1;
      this._send({
        type: "restart_offer",
        id: `${RESTART_ID}${attempt}-${this.offersSent}`,
        sdp: this.pc.localDescription.sdp,
        attempt: attempt,
        reason: reason,
      });
      this.log.add("call.restart_offer_sent", { attempt: attempt, reason: reason });
    }

    /* Our restart offer still unanswered after the policy's re-issue interval: a fresh
       ICE generation (the offer or its answer may have died in a vanished socket). */
    _armReissue() {
      clearTimeout(this.reissueTimer);
      this.reissueTimer = setTimeout(() => {
        this.reissueTimer = null;
        if (this.state === "reconnecting" && this.pc.signalingState === "have-local-offer") {
          this._serial(() => this._sendRestartOffer("reissue"));
        }
      }, this.cfg.reissueIntervalMs);
    }

    _armAttemptTimer() {
      clearTimeout(this.attemptTimer);
      this.attemptTimer = setTimeout(() => this._attemptTimedOut(), this.cfg.attemptTimeoutMs);
    }

    _attemptTimedOut() {
      if (this.state !== "reconnecting") return;
      this.log.add("call.attempt_failed", { attempt: this.attempt });
      this._serial(async () => {
        if (this.pc.signalingState === "have-local-offer") {
          await this.pc.setLocalDescription({ type: "rollback" });
        }
      });
      const delays = this.cfg.backoffMs;
      const last = this.attempt >= this.cfg.maxAttempts;
      const delay = last ? 0 : delays[Math.min(this.attempt - 1, delays.length - 1)];
      clearTimeout(this.backoffTimer);
      this.backoffTimer = setTimeout(() => this._nextAttempt("attempt-timeout"), delay);
    }

    /* A restart exchange finished on our side: count it once media flows again. */
    _expectRestartDone() {
      if (this.state === "reconnecting") {
        this._pollRecovery();
        return;
      }
      this.restarts += 1;
      this.log.add("call.restart_applied", { restarts: this.restarts });
      this._endEpisode("recovered"); // the peer's restart, answered and applied
    }

    _peerUnreachable(code) {
      if (this.state !== "reconnecting" || this.peerUnreachable) return;
      this.peerUnreachable = true;
      this.log.add("call.peer_unreachable", { code: code });
      this._pollRecovery();
    }

    _startEpisode(trigger, origin) {
      this.episode = { trigger: String(trigger).slice(0, 128), origin: origin, start: Date.now() };
    }

    _endEpisode(outcome) {
      const e = this.episode;
      if (!e) return;
      this.episode = null;
      this.episodes.push({
        trigger: e.trigger,
        outcome: outcome,
        duration_s: Math.round(Date.now() - e.start) / 1000,
        attempts: e.origin === "peer" ? 0 : Math.min(this.attempt, this.cfg.maxAttempts),
        origin: e.origin,
      });
      if (this.episodes.length > this.cfg.maxEpisodes) this.episodes.shift();
      this.log.add("call.episode", this.episodes[this.episodes.length - 1]);
    }

    /* Recovered = connected AND media arriving (bytes in grew over two looks in a row:
       one stray packet is no recovery). */
    _pollRecovery() {
      if (this.polling) return;
      this.polling = true;
      let flowing = 0;
      const look = async () => {
        this.pollTimer = null;
        if (this.state !== "reconnecting") {
          this.polling = false;
          return;
        }
        let inbound = 0;
        const report = await this.pc.getStats();
        report.forEach((s) => {
          if (s.type === "inbound-rtp") inbound += s.bytesReceived || 0;
        });
        const grew = this.lastInbound !== null && inbound > this.lastInbound;
        this.lastInbound = inbound;
        // Media alone is enough once signaling said the peer cannot be reached: no
        // restart can complete then, and a working call must not be torn down.
        const up = this.pc.connectionState === "connected" || this.peerUnreachable;
        flowing = up && grew ? flowing + 1 : 0;
        if (flowing >= 2) {
          this.polling = false;
          this._recovered();
          return;
        }
        this.pollTimer = setTimeout(look, this.cfg.recoveryPollMs);
      };
      this.lastInbound = null;
      this.pollTimer = setTimeout(look, this.cfg.recoveryPollMs);
    }

    _recovered() {
      clearTimeout(this.attemptTimer);
      clearTimeout(this.backoffTimer);
      clearTimeout(this.reissueTimer);
      this._serial(async () => {
        // Media came back before our offer was answered (e.g. the peer's restart won):
        // drop it, or it would block the next restart and a late answer would apply.
        if (this.pc.signalingState === "have-local-offer") {
          await this.pc.setLocalDescription({ type: "rollback" });
        }
      });
      this.restarts += 1;
      this._endEpisode("recovered");
      const attempts = this.attempt;
      this.attempt = 0;
      this._send({ type: "call_state", state: "connected" });
      this._setState("connected", { reconnected: true, attempts: attempts });
    }

    _fail(reason) {
      this.log.add("call.failed", { reason: reason });
      this._endEpisode("failed");
      this._send({ type: "hangup", reason: reason });
      this.close("failed");
    }

    _clearTimers() {
      clearTimeout(this.watchdog);
      this.watchdog = null;
      clearTimeout(this.reissueTimer);
      clearTimeout(this.attemptTimer);
      clearTimeout(this.backoffTimer);
      clearTimeout(this.pollTimer);
      this.attemptTimer = this.backoffTimer = this.pollTimer = this.reissueTimer = null;
      this.polling = false;
    }
  }

  // --- the visitor widget UI ------------------------------------------------------------

  /*
   * Every text the visitor sees, one table per language (docs/browsers.md "Languages"):
   * ui (buttons, the status line per phase) and errors (per hangup reason or error code,
   * the server's stable codes). {name} placeholders are filled after the lookup, so a
   * translation may move them. All tables have the same keys (a browser test checks).
   */
  const TEXTS = {
    en: {
      ui: {
        // Buttons.
        call: "Call an agent",
        hangup: "Hang up",
        // The status line, per phase.
        idle: "Talk to us face to face.",
        media: "Allow camera and microphone to start the call\u2026",
        connecting: "Connecting to the service\u2026",
        queued: "Waiting for an agent\u2026",
        queued_next: "You are next in line. An agent will answer soon\u2026",
        queued_position: "You are number {position} in line. Please wait\u2026",
        ringing: "Calling an agent\u2026",
        accepted: "Connecting the call\u2026",
        connected: "Connected",
        on_hold: "On hold \u2014 please stay on the line.",
        transferring: "Transferring you to another agent\u2026",
        reconnected: "Reconnected",
        reconnecting: "Reconnecting\u2026",
        reconnecting_attempt: "Reconnecting\u2026 ({attempt} of {max})",
        ended: "Call ended.",
        // Errors: hangup reasons and error codes.
        unknown_error: "The call failed ({code}).",
      },
      errors: {
        "no-agent-available": "No agent is available right now. Please try again later.",
        "queue-timeout": "No agent could take your call in time. Please try again later.",
        declined: "The agent could not take your call. Please try again.",
        cancelled: "The call was cancelled.",
        "reconnect-failed":
          "The connection was lost and could not be restored. Check your network and call again.",
        "connect-failed": "The call could not be connected. Your network may block calls.",
        "peer-lost": "The agent's connection was lost.",
        "session-lost": "The connection to the service was lost. Please call again.",
        rate_limited:
          "Too many call attempts from your network. Please wait a minute and try again.",
        queue_full: "All our agents are busy and the waiting line is full. Please try again later.",
        too_many_calls:
          "Too many calls are waiting from your network or this site. Please try again later.",
        unauthorized:
          "This page is not allowed to call the service (its access has expired or is wrong). Reload the page and try again.",
        forbidden: "This page is not allowed to call the service.",
        unknown_site: "This page is not allowed to call the service (unknown site key).",
        self_mint_disabled: "This page is not allowed to call the service (no visitor token).",
        origin_not_allowed: "This page is not allowed to call the service from this address.",
        no_webrtc:
          "Your browser cannot make video calls (no WebRTC). Please use a current Chrome, Firefox, Edge or Safari.",
        permission_denied:
          "Camera and microphone access was refused. Allow them for this site in your browser's settings, then call again.",
        no_device: "No camera or microphone was found. Connect one and call again.",
        media: "Camera or microphone unavailable: {detail}",
        server: "Cannot reach the call service: {detail}",
      },
    },
    de: {
      ui: {
        call: "Mitarbeiter anrufen",
        hangup: "Auflegen",
        idle: "Sprechen Sie mit uns von Angesicht zu Angesicht.",
        media: "Erlauben Sie Kamera und Mikrofon, um den Anruf zu starten\u2026",
        connecting: "Verbindung zum Dienst wird hergestellt\u2026",
        queued: "Warten auf einen Mitarbeiter\u2026",
        queued_next: "Sie sind als Nächstes an der Reihe. Gleich meldet sich ein Mitarbeiter\u2026",
        queued_position: "Sie sind Nummer {position} in der Warteschlange. Bitte warten Sie\u2026",
        ringing: "Ein Mitarbeiter wird angerufen\u2026",
        accepted: "Der Anruf wird verbunden\u2026",
        connected: "Verbunden",
        on_hold: "In der Warteschleife \u2014 bitte bleiben Sie dran.",
        transferring: "Sie werden an einen anderen Mitarbeiter weitergeleitet\u2026",
        reconnected: "Wieder verbunden",
        reconnecting: "Verbindung wird wiederhergestellt\u2026",
        reconnecting_attempt: "Verbindung wird wiederhergestellt\u2026 ({attempt} von {max})",
        ended: "Anruf beendet.",
        unknown_error: "Der Anruf ist fehlgeschlagen ({code}).",
      },
      errors: {
        "no-agent-available":
          "Gerade ist kein Mitarbeiter verfügbar. Bitte versuchen Sie es später noch einmal.",
        "queue-timeout":
          "Kein Mitarbeiter konnte Ihren Anruf rechtzeitig annehmen. Bitte versuchen Sie es später noch einmal.",
        declined:
          "Der Mitarbeiter konnte Ihren Anruf nicht annehmen. Bitte versuchen Sie es noch einmal.",
        cancelled: "Der Anruf wurde abgebrochen.",
        "reconnect-failed":
          "Die Verbindung ist abgerissen und konnte nicht wiederhergestellt werden. Prüfen Sie Ihr Netzwerk und rufen Sie erneut an.",
        "connect-failed":
          "Der Anruf konnte nicht verbunden werden. Ihr Netzwerk blockiert möglicherweise Anrufe.",
        "peer-lost": "Die Verbindung des Mitarbeiters ist abgerissen.",
        "session-lost": "Die Verbindung zum Dienst ist abgerissen. Bitte rufen Sie erneut an.",
        rate_limited:
          "Zu viele Anrufversuche aus Ihrem Netzwerk. Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
        queue_full:
          "Alle Mitarbeiter sind im Gespräch und die Warteschlange ist voll. Bitte versuchen Sie es später noch einmal.",
        too_many_calls:
          "Aus Ihrem Netzwerk oder von dieser Website warten zu viele Anrufe. Bitte versuchen Sie es später noch einmal.",
        unauthorized:
          "Diese Seite darf den Dienst nicht anrufen (ihr Zugang ist abgelaufen oder falsch). Laden Sie die Seite neu und versuchen Sie es erneut.",
        forbidden: "Diese Seite darf den Dienst nicht anrufen.",
        unknown_site: "Diese Seite darf den Dienst nicht anrufen (unbekannter Website-Schlüssel).",
        self_mint_disabled: "Diese Seite darf den Dienst nicht anrufen (kein Besucher-Token).",
        origin_not_allowed: "Diese Seite darf den Dienst von dieser Adresse aus nicht anrufen.",
        no_webrtc:
          "Ihr Browser kann keine Videoanrufe führen (kein WebRTC). Bitte verwenden Sie einen aktuellen Chrome, Firefox, Edge oder Safari.",
        permission_denied:
          "Der Zugriff auf Kamera und Mikrofon wurde verweigert. Erlauben Sie ihn für diese Website in den Einstellungen Ihres Browsers und rufen Sie dann erneut an.",
        no_device:
          "Es wurde keine Kamera und kein Mikrofon gefunden. Schließen Sie eines an und rufen Sie erneut an.",
        media: "Kamera oder Mikrofon nicht verfügbar: {detail}",
        server: "Der Anrufdienst ist nicht erreichbar: {detail}",
      },
    },
  };

  /* The widget's language: the embedding page's choice (data-lang, mount({lang})) if we
     have it, else the first of the browser's languages we have, else English. A tag
     counts by its primary subtag ("de-AT" is German). */
  function pickLanguage(override) {
    const wanted = [override, ...(navigator.languages || [navigator.language])];
    for (const tag of wanted) {
      const lang = String(tag || "")
        .split("-")[0]
        .toLowerCase();
      if (Object.hasOwn(TEXTS, lang)) return lang;
    }
    return "en";
  }

  /* Fill the {placeholders} of ``text`` from ``values`` (plain text: callers put the
     result into textContent, whatever a value holds). */
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, (match, name) =>
      values && Object.hasOwn(values, name) ? String(values[name]) : match,
    );
  }

  /* The URL of this script: the widget's own server, whatever page embeds it. */
  function scriptUrl() {
    const script = document.currentScript || document.querySelector('script[src$="widget.js"]');
    return script ? new URL(script.src, document.baseURI) : new URL(document.baseURI);
  }

  const SCRIPT_URL = scriptUrl();

  function defaultServer() {
    const scheme = SCRIPT_URL.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${SCRIPT_URL.host}/ws`;
  }

  /* The signaling server's HTTP origin (for POST /visitor-token). */
  function httpOrigin(wsUrl) {
    const url = new URL(wsUrl);
    return `${url.protocol === "wss:" ? "https:" : "http:"}//${url.host}`;
  }

  function hasWebRTC() {
    return typeof window.RTCPeerConnection === "function" && !!navigator.mediaDevices?.getUserMedia;
  }

  /* getUserMedia's failure as one of our error keys. */
  function mediaErrorKey(err) {
    const name = err?.name;
    if (name === "NotAllowedError" || name === "SecurityError") return "permission_denied";
    if (name === "NotFoundError" || name === "OverconstrainedError") return "no_device";
    return "media";
  }

  class Widget {
    /* Options come from the embedding page only: mount() options over data attributes. */
    constructor(root, options) {
      const data = root.dataset;
      this.root = root;
      this.options = Object.assign(
        {
          server: data.server || defaultServer(),
          siteKey: data.siteKey || null,
          visitorToken: data.visitorToken || null,
          name: data.name || "Visitor",
          lang: data.lang || null,
          page: location.pathname,
          config: {},
        },
        options || {},
      );
      // Several servers of one service (data-server comma-separated, or mount({servers})):
      // tried in order, the next at once when one is unreachable or draining.
      this.servers = serverList(this.options.servers || this.options.server);
      if (!this.servers.length) this.servers = [defaultServer()];
      this.events = new EventLog();
      // The page's language (<html lang>) stays the customer's: only the widget's root says
      // which language the widget speaks.
      this.lang = pickLanguage(this.options.lang);
      this.texts = TEXTS[this.lang];
      this.ticket = null; // accepted.ticket: re-attaches the live call after a lost session
      this.onHold = false; // the agent holds the call (hold{on}): "On hold" while connected
      this.signaling = null;
      this.call = null;
      this.callId = null;
      this.position = null;
      this.stream = null;
      this._render();
    }

    _render() {
      this.root.classList.add("softphone-widget");
      this.root.lang = this.lang;
      this.root.innerHTML =
        '<div class="sp-videos">' +
        '<video class="sp-remote" autoplay playsinline></video>' +
        '<video class="sp-local" autoplay playsinline muted></video>' +
        "</div>" +
        '<p class="sp-status" role="status" aria-live="polite"></p>' +
        '<p class="sp-error" role="alert" hidden></p>' +
        '<div class="sp-actions">' +
        '<button type="button" class="sp-call"></button>' +
        '<button type="button" class="sp-hangup" hidden></button>' +
        "</div>";
      this.el = {
        remote: this.root.querySelector(".sp-remote"),
        local: this.root.querySelector(".sp-local"),
        status: this.root.querySelector(".sp-status"),
        error: this.root.querySelector(".sp-error"),
        call: this.root.querySelector(".sp-call"),
        hangup: this.root.querySelector(".sp-hangup"),
      };
      this.el.call.textContent = this.texts.ui.call;
      this.el.hangup.textContent = this.texts.ui.hangup;
      this.el.call.addEventListener("click", () => this.start());
      this.el.hangup.addEventListener("click", () => this.hangup());
      this._show("idle");
      if (!hasWebRTC()) {
        this._error("no_webrtc");
        this.el.call.disabled = true;
      }
    }

    _show(phase, detail) {
      this.phase = phase;
      const ui = this.texts.ui;
      let text = ui[phase];
      if (phase === "reconnecting" && detail && detail.attempt) {
        text = fill(ui.reconnecting_attempt, detail);
      } else if (phase === "queued" && this.position) {
        text =
          this.position === 1
            ? ui.queued_next
            : fill(ui.queued_position, { position: this.position });
      }
      this.el.status.textContent = text;
      this.root.dataset.phase = phase;
      const inCall = [
        "media",
        "connecting",
        "queued",
        "ringing",
        "accepted",
        "connected",
        "on_hold",
        "transferring",
        "reconnected",
        "reconnecting",
      ].includes(phase);
      this.el.call.hidden = inCall;
      this.el.hangup.hidden = !inCall;
    }

    _error(key, extra) {
      const errors = this.texts.errors;
      const known = Object.hasOwn(errors, key);
      const text = fill(known ? errors[key] : this.texts.ui.unknown_error, {
        code: key,
        detail: extra || "",
      });
      this.el.error.textContent = text; // plain text, whatever the server sent
      this.el.error.hidden = false;
      this.events.add("widget.error", { key: key, text: text });
    }

    async start() {
      if (this.call || this.signaling) return;
      if (!hasWebRTC()) {
        this._error("no_webrtc");
        return;
      }
      this.el.error.hidden = true;
      this._show("media");
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      } catch (err) {
        const key = mediaErrorKey(err);
        this._error(key, key === "media" ? err.message || String(err) : "");
        this._show("idle");
        return;
      }
      this.el.local.srcObject = this.stream;
      this._show("connecting");
      let credentials;
      try {
        credentials = await this._admission(this.servers[0]);
      } catch (err) {
        this._fail(err);
        return;
      }
      const hello = Object.assign(
        { role: "visitor", name: this.options.name, page: this.options.page },
        credentials,
      );
      this.signaling = new Signaling({
        url: this.servers,
        hello: hello,
        freshCredentials: (url) => this._admission(url),
        log: this.events,
        config: this.options.config,
        onMessage: (msg) => this._onMessage(msg),
      });
      try {
        await this.signaling.connect();
        this.signaling.send({ type: "call_request" });
      } catch (err) {
        this._fail(err);
      }
    }

    /*
     * How this visitor is admitted: a token minted by the site's backend (data-visitor-token),
     * else one the server mints for the site key (POST /visitor-token?site_key=KEY, with no
     * body: the server's HTTP parser takes none, and a body-less POST is a CORS "simple"
     * request, without a preflight, for a page on another origin). A refusal carries a JSON
     * code; a server without such an endpoint (no JSON code, or no answer at all) gets the
     * site key in the hello instead.
     */
    async _admission(server) {
      if (this.options.visitorToken) return { token: this.options.visitorToken };
      if (!this.options.siteKey) return {};
      const key = this.options.siteKey;
      let response;
      try {
        const url = `${httpOrigin(server)}/visitor-token?site_key=${encodeURIComponent(key)}`;
        response = await fetch(url, {
          method: "POST",
          credentials: "omit",
          cache: "no-store",
        });
      } catch (err) {
        this.events.add("widget.token_unreachable", { message: String(err.message || err) });
        return { site_key: key };
      }
      let body = null;
      try {
        body = await response.json();
      } catch (_err) {
        body = null;
      }
      if (response.ok && typeof body?.token === "string") {
        this.events.add("widget.token_minted");
        return { token: body.token };
      }
      const code = body && (typeof body.code === "string" ? body.code : body.error);
      if (typeof code === "string") throw new SignalingError(code, body.message);
      this.events.add("widget.token_unsupported", { status: response.status });
      return { site_key: key };
    }

    _fail(err) {
      const code = err?.code || "server";
      this._error(code, code === "server" ? err.message || String(err) : "");
      this._teardown("idle");
    }

    hangup() {
      if (this.call) this.call.hangup("normal");
      else if (this.callId && this.signaling) {
        try {
          this.signaling.send({ type: "hangup", call_id: this.callId, reason: "cancelled" });
        } catch (err) {
          this.events.add("widget.hangup_unsent", { code: err.code || String(err) });
        }
      }
      this._teardown("ended");
    }

    _onMessage(msg) {
      this.events.add(`signal.${msg.type}`, msg.call_id ? { call_id: msg.call_id } : {});
      if (msg.type === "queued" && !this.call) {
        this.callId = msg.call_id;
        this.position = Number.isInteger(msg.position) && msg.position > 0 ? msg.position : null;
        this._show("queued");
      } else if (msg.type === "ringing") {
        this.callId = msg.call_id;
        this._show("ringing");
      } else if (msg.type === "no_agent") {
        this._error(msg.reason || "no-agent-available");
        this._teardown("idle");
      } else if (msg.type === "accepted") {
        this.ticket = typeof msg.ticket === "string" ? msg.ticket : null;
        this._show("accepted");
        this._startCall(msg);
      } else if (msg.type === "hold" && msg.call_id === this.callId && this.call) {
        this.onHold = msg.on === true;
        this.events.add("widget.hold", { on: this.onHold });
        if (this.call.state === "connected") this._show(this.onHold ? "on_hold" : "connected");
      } else if (msg.type === "transferring" && msg.call_id === this.callId) {
        this._handOn();
      } else if (msg.type === "hangup" && msg.call_id === this.callId) {
        if (msg.reason !== "normal") this._error(msg.reason);
        this._teardown("ended");
      } else if (msg.type === "session_lost") {
        if (this.call) {
          // The media never went through the server: keep the call and bring it back on
          // the fresh session (reattach goes first, right after the hello).
          if (this.ticket) this.signaling.send({ type: "reattach", ticket: this.ticket });
          this.events.add("widget.reattach", { ticket: !!this.ticket });
        } else if (this.callId) {
          this._error("session-lost"); // a waiting or ringing call is gone with the session
          this._teardown("ended");
        }
      } else if (msg.type === "reattached") {
        this.events.add("widget.reattached", { peer_present: !!msg.peer_present });
        if (this.call && msg.call_id === this.callId) this.call.signalingResumed();
      } else if (msg.type === "resumed") {
        if (this.call && msg.call_id !== this.callId) {
          this._error("session-lost");
          this._teardown("ended");
        } else if (this.call) {
          this.call.signalingResumed();
        }
      } else if (msg.type === "error" && !this.call && Object.hasOwn(TEXTS.en.errors, msg.code)) {
        // A refused call request (rate_limited, queue_full, too_many_calls, ...).
        this._error(msg.code);
        this._teardown("idle");
      } else if (this.call && (msg.call_id === this.callId || msg.type === "error")) {
        this.call.handle(msg);
      }
    }

    _startCall(accepted) {
      const welcome = this.signaling.welcome || {};
      // Per-call TURN credentials come with "accepted"; welcome has credential-less ones.
      const iceServers = Array.isArray(accepted.ice_servers)
        ? accepted.ice_servers
        : welcome.ice_servers || [];
      this.callId = accepted.call_id;
      this.call = new Call({
        signaling: this.signaling,
        callId: accepted.call_id,
        iceServers: iceServers,
        stream: this.stream,
        polite: true,
        log: this.events,
        config: Object.assign({}, this.options.config, this.signaling.policy()),
        onRemoteStream: (stream) => {
          this.el.remote.srcObject = stream;
        },
        onState: (state, detail) => this._onCallState(state, detail),
      });
      this.call.start();
    }

    /* The agent handed the call on: this peer connection ends, the camera and microphone
       stay (no new permission prompt); "ringing" and "accepted" follow as for a new call,
       and the next Call is built on the same stream. */
    _handOn() {
      const call = this.call;
      this.call = null;
      this.onHold = false;
      this.ticket = null;
      this.position = null;
      if (call) {
        call.close("ended");
        try {
          this.signaling.send(call.report());
        } catch (err) {
          this.events.add("widget.report_unsent", { code: err.code || String(err) });
        }
      }
      this.el.remote.srcObject = null;
      this.events.add("widget.transferring", { call_id: this.callId });
      this._show("transferring");
    }

    _onCallState(state, detail) {
      if (state === "connected") {
        if (this.onHold) this._show("on_hold");
        else this._show(detail.reconnected ? "reconnected" : "connected");
        if (detail.reconnected) {
          setTimeout(() => {
            if (this.phase === "reconnected") this._show("connected");
          }, 2000);
        }
      } else if (state === "reconnecting") {
        this._show("reconnecting", detail);
      } else if (state === "failed") {
        this._error(this.call?.attempt ? "reconnect-failed" : "connect-failed");
        this._teardown("ended");
      }
    }

    _teardown(phase) {
      const call = this.call;
      this.call = null;
      this.callId = null;
      this.position = null;
      this.onHold = false;
      if (call && call.state !== "ended" && call.state !== "failed") call.close("ended");
      this.ticket = null;
      if (call && this.signaling) {
        try {
          this.signaling.send(call.report());
        } catch (err) {
          this.events.add("widget.report_unsent", { code: err.code || String(err) });
        }
      }
      if (this.signaling) this.signaling.close();
      this.signaling = null;
      if (this.stream) for (const track of this.stream.getTracks()) track.stop();
      this.stream = null;
      this.el.local.srcObject = this.el.remote.srcObject = null;
      this._show(phase);
    }
  }

  /* Mount a widget on ``root`` (once); the handle is also root.softphone. */
  function mount(root, options) {
    if (!root.softphone) root.softphone = new Widget(root, options);
    return root.softphone;
  }

  function mountAll() {
    for (const root of document.querySelectorAll("[data-softphone-widget]")) mount(root);
  }

  // The library's one name on the page; no instance is published globally.
  window.SoftphoneWidget = Object.freeze({
    mount: mount,
    Signaling: Signaling,
    Call: Call,
    EventLog: EventLog,
    SignalingError: SignalingError,
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
