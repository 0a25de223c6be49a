"""The signaled call and its recovery: what happens when the network drops, top-down.

Layers (docs/architecture.md): ``softphone.agent`` / ``softphone.visitor`` own a
:class:`~softphone.call.signaled.SignaledCall`; this package drives ``softphone.rtc``
(aiortc only) and talks to the peer through a
:class:`~softphone.call.signaling.CallSignaling` (the signaling client in the product).

The recovery flow, end to end::

    network drops ──────────────────────────────────────────────────────────────────────
    1. Detect (two sources, both feeding the policy)
       rtc.connectivity.ConnectivityMonitor   no media for 0.3 s → STUN probes of the pair
                                              carrying media; 2 unanswered → DISCONNECTED
                                              (~1.3 s); ICE failed/closed → FAILED
       call.network.NetworkWatcher            the one address poller (0.25 s): the address
                                              in use vanished, or one appeared while the
                                              path is down → network change
         └ the session also reconnects a signaling socket stranded on a vanished address
           (call.signaling.reconnect_if_stranded), idle or in a call.
    2. Decide  call.reconnect.ReconnectController (pure policy, fake-clock tested)
       an *episode*: up to 3 attempts of 10 s, backoff 1 s / 2 s; within an attempt the
       restart offer is re-issued on network changes and every 2.5 s. It publishes
       (state, attempt, max) and, when it gives up, a ReconnectFailure.
    3. Act     call.recovery.CallRecovery (the controller's RestartDriver)
       rtc.ice_restart.IceRestarter builds a fresh ICE generation (new ufrag/pwd,
       candidates) on the *same* DTLS transport (rtc.aiortc_compat.transport), the
       restart_offer goes out over signaling; the peer answers (glare: the agent is
       impolite, the visitor polite, converging in one round).
    4. Succeed when media flows again: SRTP from the peer since the attempt began, plus
       a path that answers — the new generation's nomination, or the old path coming
       back (monitor CONNECTED). Senders paused while down resume, the video receiver
       is reset so video returns as fast as audio. When the server answers a restart
       offer with "no such call" (it lost the call; docs/operations.md), media from the
       peer alone ends the episode as a success: signaling is never a reason to tear down
       a call whose media flows.
    5. Publish call.state.CallStateModel (owned by SignaledCall) derives one CallStatus:
       CONNECTING → CONNECTED ⇄ RECONNECTING(attempt k of N, or origin PEER) → FAILED
       (recovery exhausted: the call is torn down for both sides, ``reconnect-failed``)
       or ENDED. AgentSession publishes it as ``call_status``; the UI only renders it.
    If the signaling session itself is lost, the client signs in afresh and re-attaches
    the live call with its call ticket (``reattach``); the call and its recovery go on.
    ────────────────────────────────────────────────────────────────────────────────────

Modules: ``state`` (the model), ``reconnect`` (policy), ``recovery`` (glue + restart
protocol), ``signaled`` (the call), ``signaling`` (the interface), ``network`` (watcher).
"""
