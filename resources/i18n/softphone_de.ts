<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>AgentState</name>
    <message>
        <source>Nobody waiting</source>
        <translation>Niemand wartet</translation>
    </message>
    <message>
        <source>{count} waiting · longest {wait}</source>
        <translation>{count} wartend · am längsten {wait}</translation>
    </message>
    <message>
        <source>Break</source>
        <translation>Pause</translation>
    </message>
    <message>
        <source>Lunch</source>
        <translation>Mittagspause</translation>
    </message>
    <message>
        <source>Meeting</source>
        <translation>Besprechung</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>Schulung</translation>
    </message>
    <message>
        <source>After-call work</source>
        <translation>Nachbearbeitung</translation>
    </message>
    <message>
        <source>Calls ring again when you click Ready or the time is up.</source>
        <translation>Anrufe klingeln wieder, sobald Sie auf „Bereit“ klicken oder die Zeit abgelaufen ist.</translation>
    </message>
    <message>
        <source>&amp;Notes for this call</source>
        <translation>&amp;Notizen zu diesem Anruf</translation>
    </message>
    <message>
        <source>What was the call about?</source>
        <translation>Worum ging es im Anruf?</translation>
    </message>
    <message>
        <source>Notes for this call</source>
        <translation>Notizen zu diesem Anruf</translation>
    </message>
    <message>
        <source>Saved in the call history when you click Ready</source>
        <translation>Werden beim Klick auf „Bereit“ im Anrufverlauf gespeichert</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Bereit</translation>
    </message>
    <message>
        <source>Save the notes and take calls again</source>
        <translation>Notizen speichern und wieder Anrufe annehmen</translation>
    </message>
    <message>
        <source>Save the notes and take calls again ({shortcut})</source>
        <translation>Notizen speichern und wieder Anrufe annehmen ({shortcut})</translation>
    </message>
    <message>
        <source>Wrap-up {time}</source>
        <translation>Nachbearbeitung {time}</translation>
    </message>
</context>
<context>
    <name>App</name>
    <message>
        <source>Running in the tray; calls will ring here.</source>
        <translation>Läuft im Infobereich; Anrufe klingeln hier.</translation>
    </message>
</context>
<context>
    <name>AudioDevices</name>
    <message>
        <source>No {role} device found: sound is off.</source>
        <translation>Kein Gerät für {role} gefunden: Ton ist aus.</translation>
    </message>
    <message>
        <source>Preferred {role} unplugged: using {device} instead.</source>
        <translation>Bevorzugtes Gerät für {role} getrennt: stattdessen wird {device} verwendet.</translation>
    </message>
    <message>
        <source>Using your preferred {role} again: {device}.</source>
        <translation>Wieder Ihr bevorzugtes Gerät für {role}: {device}.</translation>
    </message>
    <message>
        <source>ringer</source>
        <translation>Klingelton</translation>
    </message>
    <message>
        <source>speaker</source>
        <translation>Lautsprecher</translation>
    </message>
</context>
<context>
    <name>CallMedia</name>
    <message>
        <source>No camera</source>
        <translation>Keine Kamera</translation>
    </message>
    <message>
        <source>No sound output found: the visitor cannot be heard.</source>
        <translation>Keine Tonausgabe gefunden: der Besucher ist nicht zu hören.</translation>
    </message>
    <message>
        <source>Speaker problem: {error}</source>
        <translation>Problem mit dem Lautsprecher: {error}</translation>
    </message>
    <message>
        <source>Audio only — the visitor has no video</source>
        <translation>Nur Audio – der Besucher sendet kein Video</translation>
    </message>
</context>
<context>
    <name>CallView</name>
    <message>
        <source>Visitor&apos;s video</source>
        <translation>Video des Besuchers</translation>
    </message>
    <message>
        <source>The visitor&apos;s camera picture</source>
        <translation>Das Kamerabild des Besuchers</translation>
    </message>
    <message>
        <source>Your video</source>
        <translation>Ihr Video</translation>
    </message>
    <message>
        <source>Preview of what the visitor sees from your camera</source>
        <translation>Vorschau dessen, was der Besucher von Ihrer Kamera sieht</translation>
    </message>
    <message>
        <source>Call duration</source>
        <translation>Gesprächsdauer</translation>
    </message>
    <message>
        <source>Minutes and seconds since the call connected</source>
        <translation>Minuten und Sekunden seit Gesprächsbeginn</translation>
    </message>
    <message>
        <source>Hold time</source>
        <translation>Haltezeit</translation>
    </message>
    <message>
        <source>How long the visitor has been on hold</source>
        <translation>Wie lange der Besucher schon in der Warteschleife ist</translation>
    </message>
    <message>
        <source>Mute</source>
        <translation>Stumm</translation>
    </message>
    <message>
        <source>Mute your microphone</source>
        <translation>Mikrofon stummschalten</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Kamera</translation>
    </message>
    <message>
        <source>Turn your camera off</source>
        <translation>Kamera ausschalten</translation>
    </message>
    <message>
        <source>Hold</source>
        <translation>Halten</translation>
    </message>
    <message>
        <source>Put the visitor on hold</source>
        <translation>Den Besucher in die Warteschleife legen</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>Weiterleiten</translation>
    </message>
    <message>
        <source>Hand the call to a colleague or back to the waiting line</source>
        <translation>Den Anruf an einen Kollegen oder zurück in die Warteschlange geben</translation>
    </message>
    <message>
        <source>Hand the call to a colleague or back to the waiting line ({shortcut})</source>
        <translation>Den Anruf an einen Kollegen oder zurück in die Warteschlange geben ({shortcut})</translation>
    </message>
    <message>
        <source>Hang up</source>
        <translation>Auflegen</translation>
    </message>
    <message>
        <source>End the call</source>
        <translation>Gespräch beenden</translation>
    </message>
    <message>
        <source>End the call ({shortcut})</source>
        <translation>Gespräch beenden ({shortcut})</translation>
    </message>
    <message>
        <source>Complete transfer</source>
        <translation>Übergabe abschließen</translation>
    </message>
    <message>
        <source>Hand the visitor to this colleague now</source>
        <translation>Den Besucher jetzt an diesen Kollegen übergeben</translation>
    </message>
    <message>
        <source>Back to the visitor</source>
        <translation>Zurück zum Besucher</translation>
    </message>
    <message>
        <source>End the talk with the colleague and keep the visitor</source>
        <translation>Das Gespräch mit dem Kollegen beenden und den Besucher behalten</translation>
    </message>
    <message>
        <source>Talking to {name} — the visitor is on hold</source>
        <translation>Gespräch mit {name} — der Besucher wartet in der Warteschleife</translation>
    </message>
    <message>
        <source>Calling {name}…</source>
        <translation>{name} wird angerufen…</translation>
    </message>
    <message>
        <source>Consult</source>
        <translation>Rückfrage</translation>
    </message>
    <message>
        <source>Visitor</source>
        <translation>Besucher</translation>
    </message>
    <message>
        <source>Connecting video…</source>
        <translation>Video wird verbunden …</translation>
    </message>
    <message>
        <source>Audio only</source>
        <translation>Nur Audio</translation>
    </message>
    <message>
        <source>Call connection problem</source>
        <translation>Problem mit der Gesprächsverbindung</translation>
    </message>
    <message>
        <source>On hold {time}</source>
        <translation>Gehalten {time}</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Fortsetzen</translation>
    </message>
    <message>
        <source>Take the visitor off hold</source>
        <translation>Den Besucher aus der Warteschleife holen</translation>
    </message>
    <message>
        <source>Unmute</source>
        <translation>Ton an</translation>
    </message>
    <message>
        <source>Unmute your microphone</source>
        <translation>Mikrofon wieder einschalten</translation>
    </message>
    <message>
        <source>Camera on</source>
        <translation>Kamera an</translation>
    </message>
    <message>
        <source>Camera off</source>
        <translation>Kamera aus</translation>
    </message>
    <message>
        <source>Turn your camera on</source>
        <translation>Kamera einschalten</translation>
    </message>
</context>
<context>
    <name>Controller</name>
    <message>
        <source>Could not change availability: {error}</source>
        <translation>Verfügbarkeit konnte nicht geändert werden: {error}</translation>
    </message>
    <message>
        <source>The notes could not be saved.</source>
        <translation>Die Notizen konnten nicht gespeichert werden.</translation>
    </message>
    <message>
        <source>Could not take the call: {error}</source>
        <translation>Anruf konnte nicht angenommen werden: {error}</translation>
    </message>
    <message>
        <source>{name} ended the consult.</source>
        <translation>{name} hat die Rückfrage beendet.</translation>
    </message>
    <message>
        <source>Call transferred to {name}.</source>
        <translation>Anruf an {name} weitergeleitet.</translation>
    </message>
    <message>
        <source>Call transferred to the waiting line.</source>
        <translation>Anruf zurück in die Warteschlange gegeben.</translation>
    </message>
    <message>
        <source>Could not transfer the call: {error}</source>
        <translation>Der Anruf konnte nicht weitergeleitet werden: {error}</translation>
    </message>
    <message>
        <source>Call ended ({reason}).</source>
        <translation>Gespräch beendet ({reason}).</translation>
    </message>
    <message>
        <source>Something went wrong: {error}</source>
        <translation>Etwas ist schiefgelaufen: {error}</translation>
    </message>
</context>
<context>
    <name>Crash</name>
    <message>
        <source>Softphone error</source>
        <translation>Softphone-Fehler</translation>
    </message>
    <message>
        <source>Something went wrong inside Softphone. The details were written to the log; use Diagnostics → Export logs… to send them to support.</source>
        <translation>In Softphone ist ein Fehler aufgetreten. Die Einzelheiten stehen im Protokoll; senden Sie sie über Diagnose → Protokolle exportieren … an den Support.</translation>
    </message>
</context>
<context>
    <name>Diagnostics</name>
    <message>
        <source>Softphone diagnostics</source>
        <translation>Softphone-Diagnose</translation>
    </message>
    <message>
        <source>Call quality</source>
        <translation>Gesprächsqualität</translation>
    </message>
    <message>
        <source>Logs</source>
        <translation>Protokolle</translation>
    </message>
    <message>
        <source>Diagnostics pages</source>
        <translation>Diagnoseseiten</translation>
    </message>
    <message>
        <source>Call quality and the log</source>
        <translation>Gesprächsqualität und Protokoll</translation>
    </message>
    <message>
        <source>{label}:</source>
        <translation>{label}:</translation>
    </message>
    <message>
        <source>Call quality warnings</source>
        <translation>Warnungen zur Gesprächsqualität</translation>
    </message>
    <message>
        <source>&amp;Restart ICE now</source>
        <translation>ICE jetzt &amp;neu starten</translation>
    </message>
    <message>
        <source>Re-establish the media path without ending the call (try this if audio froze)</source>
        <translation>Den Medienweg neu aufbauen, ohne das Gespräch zu beenden (hilft, wenn der Ton hängt)</translation>
    </message>
    <message>
        <source>Restart ICE now</source>
        <translation>ICE jetzt neu starten</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>The newest lines of the application log</source>
        <translation>Die neuesten Zeilen des Anwendungsprotokolls</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>&amp;Aktualisieren</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Aktualisieren</translation>
    </message>
    <message>
        <source>Read the newest log lines again</source>
        <translation>Die neuesten Protokollzeilen erneut lesen</translation>
    </message>
    <message>
        <source>&amp;Export logs…</source>
        <translation>Protokolle &amp;exportieren …</translation>
    </message>
    <message>
        <source>Export logs…</source>
        <translation>Protokolle exportieren …</translation>
    </message>
    <message>
        <source>Save all log files in one zip archive for support</source>
        <translation>Alle Protokolldateien in einem ZIP-Archiv für den Support speichern</translation>
    </message>
    <message>
        <source>No call in progress.</source>
        <translation>Kein Gespräch aktiv.</translation>
    </message>
    <message>
        <source>Call quality is good.</source>
        <translation>Die Gesprächsqualität ist gut.</translation>
    </message>
    <message>
        <source>(logging to the console only)</source>
        <translation>(Protokoll nur auf der Konsole)</translation>
    </message>
    <message>
        <source>Export logs</source>
        <translation>Protokolle exportieren</translation>
    </message>
    <message>
        <source>Zip archives (*.zip)</source>
        <translation>ZIP-Archive (*.zip)</translation>
    </message>
    <message>
        <source>Export failed: {error}</source>
        <translation>Export fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Saved {file}</source>
        <translation>{file} gespeichert</translation>
    </message>
    <message>
        <source>No call to restart.</source>
        <translation>Kein Gespräch zum Neustarten.</translation>
    </message>
</context>
<context>
    <name>GlobalShortcuts</name>
    <message>
        <source>Wayland does not let an app hear keys pressed in other applications</source>
        <translation>Wayland lässt eine App keine Tasten hören, die in anderen Anwendungen gedrückt werden</translation>
    </message>
    <message>
        <source>no X11 display (DISPLAY is not set)</source>
        <translation>keine X11-Anzeige (DISPLAY ist nicht gesetzt)</translation>
    </message>
    <message>
        <source>the keyboard listener stopped right after starting</source>
        <translation>die Tastaturüberwachung endete gleich nach dem Start</translation>
    </message>
</context>
<context>
    <name>HistoryView</name>
    <message>
        <source>Started</source>
        <translation>Beginn</translation>
    </message>
    <message>
        <source>Visitor</source>
        <translation>Besucher</translation>
    </message>
    <message>
        <source>Page</source>
        <translation>Seite</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Dauer</translation>
    </message>
    <message>
        <source>Interruptions</source>
        <translation>Unterbrechungen</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>Ende</translation>
    </message>
    <message>
        <source>Transferred by</source>
        <translation>Weitergeleitet von</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notizen</translation>
    </message>
    <message>
        <source>recovered after {seconds} s</source>
        <translation>wiederhergestellt nach {seconds} s</translation>
    </message>
    <message>
        <source>failed after {seconds} s</source>
        <translation>gescheitert nach {seconds} s</translation>
    </message>
    <message>
        <source>hung up after {seconds} s</source>
        <translation>aufgelegt nach {seconds} s</translation>
    </message>
    <message>
        <source>the visitor&apos;s restart</source>
        <translation>Neustart durch den Besucher</translation>
    </message>
    <message>
        <source>attempts: {attempts}</source>
        <translation>Versuche: {attempts}</translation>
    </message>
    <message>
        <source>Call history — Softphone</source>
        <translation>Anrufverlauf — Softphone</translation>
    </message>
    <message>
        <source>Search visitor, page or notes</source>
        <translation>Besucher, Seite oder Notizen suchen</translation>
    </message>
    <message>
        <source>Search calls</source>
        <translation>Anrufe suchen</translation>
    </message>
    <message>
        <source>Lists only the calls whose visitor, page or notes match</source>
        <translation>Zeigt nur die Anrufe, deren Besucher, Seite oder Notizen passen</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>CSV exportieren…</translation>
    </message>
    <message>
        <source>Save the calls listed below as a CSV file</source>
        <translation>Die unten aufgeführten Anrufe als CSV-Datei speichern</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>CSV exportieren</translation>
    </message>
    <message>
        <source>Recent calls</source>
        <translation>Letzte Anrufe</translation>
    </message>
    <message>
        <source>Newest first, one line per call</source>
        <translation>Neueste zuerst, eine Zeile pro Anruf</translation>
    </message>
    <message>
        <source>Call history is off ({problem}): see the log for details.</source>
        <translation>Der Anrufverlauf ist aus ({problem}): Einzelheiten stehen im Protokoll.</translation>
    </message>
    <message>
        <source>Export call history</source>
        <translation>Anrufverlauf exportieren</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV-Dateien (*.csv)</translation>
    </message>
    <message>
        <source>Export failed: {error}</source>
        <translation>Export fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Calls saved to {file}: {rows}</source>
        <translation>Anrufe gespeichert in {file}: {rows}</translation>
    </message>
</context>
<context>
    <name>IncomingCall</name>
    <message>
        <source>{name} wants to talk before handing over a call: {note}</source>
        <translation>{name} möchte vor der Übergabe eines Anrufs sprechen: {note}</translation>
    </message>
    <message>
        <source>Transferred by {name}</source>
        <translation>Weitergeleitet von {name}</translation>
    </message>
    <message>
        <source>Transferred by {name}: {note}</source>
        <translation>Weitergeleitet von {name}: {note}</translation>
    </message>
    <message>
        <source>Incoming call</source>
        <translation>Eingehender Anruf</translation>
    </message>
    <message>
        <source>Accept</source>
        <translation>Annehmen</translation>
    </message>
    <message>
        <source>Accept the call</source>
        <translation>Anruf annehmen</translation>
    </message>
    <message>
        <source>Accept the call ({shortcut})</source>
        <translation>Anruf annehmen ({shortcut})</translation>
    </message>
    <message>
        <source>Decline</source>
        <translation>Ablehnen</translation>
    </message>
    <message>
        <source>Decline the call</source>
        <translation>Anruf ablehnen</translation>
    </message>
    <message>
        <source>Decline the call ({shortcut})</source>
        <translation>Anruf ablehnen ({shortcut})</translation>
    </message>
    <message>
        <source>From page: {page}</source>
        <translation>Von der Seite: {page}</translation>
    </message>
    <message>
        <source>Ringing — {seconds} s left to answer</source>
        <translation>Klingelt – noch {seconds} s zum Annehmen</translation>
    </message>
</context>
<context>
    <name>LevelMeter</name>
    <message>
        <source>Microphone level</source>
        <translation>Mikrofonpegel</translation>
    </message>
    <message>
        <source>Moves while the default microphone hears sound</source>
        <translation>Bewegt sich, solange das Standardmikrofon Ton hört</translation>
    </message>
    <message>
        <source>No microphone found by the sound system</source>
        <translation>Das Audiosystem hat kein Mikrofon gefunden</translation>
    </message>
    <message>
        <source>Level of {device}</source>
        <translation>Pegel von {device}</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Why you go away; the server records it</source>
        <translation>Warum Sie abwesend sind; der Server vermerkt es</translation>
    </message>
    <message>
        <source>Away reason</source>
        <translation>Abwesenheitsgrund</translation>
    </message>
    <message>
        <source>Waiting line</source>
        <translation>Warteschlange</translation>
    </message>
    <message>
        <source>Visitors waiting for an agent, and the longest wait</source>
        <translation>Wartende Besucher und die längste Wartezeit</translation>
    </message>
    <message>
        <source>Diagnostics</source>
        <translation>Diagnose</translation>
    </message>
    <message>
        <source>Call quality, Restart ICE and the logs</source>
        <translation>Gesprächsqualität, ICE-Neustart und Protokolle</translation>
    </message>
    <message>
        <source>Call history</source>
        <translation>Anrufverlauf</translation>
    </message>
    <message>
        <source>Recent calls: search them, export them</source>
        <translation>Letzte Anrufe: durchsuchen, exportieren</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <source>Devices, server, reconnect and language</source>
        <translation>Geräte, Server, Wiederverbindung und Sprache</translation>
    </message>
    <message>
        <source>Agent: {name}</source>
        <translation>Agent: {name}</translation>
    </message>
    <message>
        <source>Not signed in</source>
        <translation>Nicht angemeldet</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>Sign in to take calls.</source>
        <translation>Melden Sie sich an, um Anrufe anzunehmen.</translation>
    </message>
    <message>
        <source>After-call work</source>
        <translation>Nachbearbeitung</translation>
    </message>
    <message>
        <source>Calls ring again after Ready or the wrap-up time. Click to go away.</source>
        <translation>Anrufe klingeln wieder nach „Bereit“ oder nach der Nachbearbeitungszeit. Klicken, um abwesend zu sein.</translation>
    </message>
    <message>
        <source>Available</source>
        <translation>Verfügbar</translation>
    </message>
    <message>
        <source>You receive calls. Click to go away.</source>
        <translation>Sie erhalten Anrufe. Klicken, um abwesend zu sein.</translation>
    </message>
    <message>
        <source>Away</source>
        <translation>Abwesend</translation>
    </message>
    <message>
        <source>You receive no calls. Click to become available.</source>
        <translation>Sie erhalten keine Anrufe. Klicken, um verfügbar zu sein.</translation>
    </message>
    <message>
        <source>Availability: {state}</source>
        <translation>Verfügbarkeit: {state}</translation>
    </message>
    <message>
        <source>Server connection lost</source>
        <translation>Serververbindung verloren</translation>
    </message>
    <message>
        <source>Reconnecting… calls ring here again once it is back.</source>
        <translation>Verbindung wird wiederhergestellt … danach klingeln Anrufe wieder hier.</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>Nicht verbunden</translation>
    </message>
    <message>
        <source>Sign in to start taking calls.</source>
        <translation>Melden Sie sich an, um Anrufe anzunehmen.</translation>
    </message>
    <message>
        <source>Waiting for calls</source>
        <translation>Warten auf Anrufe</translation>
    </message>
    <message>
        <source>You are available. Incoming calls ring here.</source>
        <translation>Sie sind verfügbar. Eingehende Anrufe klingeln hier.</translation>
    </message>
    <message>
        <source>You are away</source>
        <translation>Sie sind abwesend</translation>
    </message>
    <message>
        <source>Switch to Available in the top-right corner to take calls.</source>
        <translation>Schalten Sie oben rechts auf „Verfügbar“, um Anrufe anzunehmen.</translation>
    </message>
    <message>
        <source>Quit Softphone?</source>
        <translation>Softphone beenden?</translation>
    </message>
    <message>
        <source>You are in a call. Quitting ends it for the visitor.</source>
        <translation>Sie sind in einem Gespräch. Beenden trennt es für den Besucher.</translation>
    </message>
    <message>
        <source>You are available for calls. Quitting means calls no longer reach you.</source>
        <translation>Sie sind für Anrufe verfügbar. Nach dem Beenden erreichen Sie keine Anrufe mehr.</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Keep Softphone running</source>
        <translation>Softphone weiterlaufen lassen</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
    <message>
        <source>Close Softphone now</source>
        <translation>Softphone jetzt schließen</translation>
    </message>
</context>
<context>
    <name>Preferences</name>
    <message>
        <source>Server address must look like wss://host/ws (or ws:// for tests).</source>
        <translation>Die Serveradresse muss wie wss://host/ws aussehen (oder ws:// für Tests).</translation>
    </message>
    <message>
        <source>Enter your agent name.</source>
        <translation>Geben Sie Ihren Agentennamen ein.</translation>
    </message>
    <message>
        <source>Enter your access token.</source>
        <translation>Geben Sie Ihr Zugangstoken ein.</translation>
    </message>
    <message>
        <source>Backoff must be a list of seconds, e.g. 1, 2.</source>
        <translation>Die Wartezeiten müssen eine Liste von Sekunden sein, z. B. 1, 2.</translation>
    </message>
    <message>
        <source>Give at least one backoff value, e.g. 1, 2.</source>
        <translation>Geben Sie mindestens eine Wartezeit an, z. B. 1, 2.</translation>
    </message>
    <message>
        <source>Reconnect policy out of range: {error}</source>
        <translation>Wiederverbindungsregel außerhalb des Bereichs: {error}</translation>
    </message>
</context>
<context>
    <name>Quality</name>
    <message>
        <source>High round-trip time ({value} ms &gt; {limit} ms)</source>
        <translation>Hohe Umlaufzeit ({value} ms &gt; {limit} ms)</translation>
    </message>
    <message>
        <source>High jitter ({value} ms &gt; {limit} ms)</source>
        <translation>Hoher Jitter ({value} ms &gt; {limit} ms)</translation>
    </message>
    <message>
        <source>Packet loss {value} % (&gt; {limit} %)</source>
        <translation>Paketverlust {value} % (&gt; {limit} %)</translation>
    </message>
    <message>
        <source>Nothing received for {seconds} s</source>
        <translation>Seit {seconds} s nichts empfangen</translation>
    </message>
    <message>
        <source>Round-trip time</source>
        <translation>Umlaufzeit</translation>
    </message>
    <message>
        <source>Jitter</source>
        <translation>Jitter</translation>
    </message>
    <message>
        <source>Packet loss</source>
        <translation>Paketverlust</translation>
    </message>
    <message>
        <source>{value} % ({count} packets)</source>
        <translation>{value} % ({count} Pakete)</translation>
    </message>
    <message>
        <source>Bitrate in</source>
        <translation>Bitrate eingehend</translation>
    </message>
    <message>
        <source>Bitrate out</source>
        <translation>Bitrate ausgehend</translation>
    </message>
    <message>
        <source>Video</source>
        <translation>Video</translation>
    </message>
    <message>
        <source>{fps} fps, {count} frames</source>
        <translation>{fps} fps, {count} Bilder</translation>
    </message>
    <message>
        <source>Audio frames</source>
        <translation>Audio-Frames</translation>
    </message>
</context>
<context>
    <name>ReconnectError</name>
    <message>
        <source>Call lost</source>
        <translation>Gespräch verloren</translation>
    </message>
    <message>
        <source>The call was lost</source>
        <translation>Das Gespräch ist abgebrochen</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>OK</translation>
    </message>
    <message>
        <source>Close this message</source>
        <translation>Diese Meldung schließen</translation>
    </message>
    <message>
        <source>&amp;Copy details</source>
        <translation>Details &amp;kopieren</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>Details kopieren</translation>
    </message>
    <message>
        <source>Copy the call id and error for a support ticket</source>
        <translation>Gesprächs-ID und Fehler für ein Support-Ticket kopieren</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Kopiert</translation>
    </message>
</context>
<context>
    <name>Ringing</name>
    <message>
        <source>a visitor</source>
        <translation>einem Besucher</translation>
    </message>
    <message>
        <source>Call from {name} timed out.</source>
        <translation>Anruf von {name} nicht rechtzeitig angenommen.</translation>
    </message>
    <message>
        <source>Call from {name} was cancelled.</source>
        <translation>Anruf von {name} wurde abgebrochen.</translation>
    </message>
</context>
<context>
    <name>Settings</name>
    <message>
        <source>Softphone settings</source>
        <translation>Softphone-Einstellungen</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>Geräte</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <source>Reconnect</source>
        <translation>Wiederverbindung</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Sprache</translation>
    </message>
    <message>
        <source>Keyboard</source>
        <translation>Tastatur</translation>
    </message>
    <message>
        <source>Settings pages</source>
        <translation>Einstellungsseiten</translation>
    </message>
    <message>
        <source>Devices, server, reconnect policy, language and keyboard</source>
        <translation>Geräte, Server, Wiederverbindungsregel, Sprache und Tastatur</translation>
    </message>
    <message>
        <source>Settings problems</source>
        <translation>Probleme in den Einstellungen</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Speichern</translation>
    </message>
    <message>
        <source>Keep these settings and close</source>
        <translation>Diese Einstellungen übernehmen und schließen</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Close without changing anything</source>
        <translation>Schließen, ohne etwas zu ändern</translation>
    </message>
    <message>
        <source>System default camera</source>
        <translation>Standardkamera des Systems</translation>
    </message>
    <message>
        <source>Test pattern</source>
        <translation>Testbild</translation>
    </message>
    <message>
        <source>System default microphone</source>
        <translation>Standardmikrofon des Systems</translation>
    </message>
    <message>
        <source>Test tone</source>
        <translation>Testton</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>Systemstandard</translation>
    </message>
    <message>
        <source>No camera (audio only)</source>
        <translation>Keine Kamera (nur Audio)</translation>
    </message>
    <message>
        <source>No microphone</source>
        <translation>Kein Mikrofon</translation>
    </message>
    <message>
        <source>Camera:</source>
        <translation>Kamera:</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>Kamera</translation>
    </message>
    <message>
        <source>The camera visitors see you through</source>
        <translation>Die Kamera, über die Besucher Sie sehen</translation>
    </message>
    <message>
        <source>Microphone:</source>
        <translation>Mikrofon:</translation>
    </message>
    <message>
        <source>Microphone</source>
        <translation>Mikrofon</translation>
    </message>
    <message>
        <source>The microphone visitors hear you through</source>
        <translation>Das Mikrofon, über das Besucher Sie hören</translation>
    </message>
    <message>
        <source>Mic level:</source>
        <translation>Mikrofonpegel:</translation>
    </message>
    <message>
        <source>Speaker:</source>
        <translation>Lautsprecher:</translation>
    </message>
    <message>
        <source>Speaker</source>
        <translation>Lautsprecher</translation>
    </message>
    <message>
        <source>Where you hear the visitor</source>
        <translation>Wo Sie den Besucher hören</translation>
    </message>
    <message>
        <source>Ringer:</source>
        <translation>Klingelton:</translation>
    </message>
    <message>
        <source>Ringer</source>
        <translation>Klingelton</translation>
    </message>
    <message>
        <source>Where incoming calls ring (may differ from the headset)</source>
        <translation>Wo eingehende Anrufe klingeln (kann vom Headset abweichen)</translation>
    </message>
    <message>
        <source>Server changes apply the next time you sign in.</source>
        <translation>Serveränderungen gelten ab der nächsten Anmeldung.</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>Seconds between attempts, each {low} to {high}, separated by commas</source>
        <translation>Sekunden zwischen den Versuchen, je {low} bis {high}, durch Kommas getrennt</translation>
    </message>
    <message>
        <source>Attempts before giving up:</source>
        <translation>Versuche bis zum Aufgeben:</translation>
    </message>
    <message>
        <source>Attempts before giving up</source>
        <translation>Versuche bis zum Aufgeben</translation>
    </message>
    <message>
        <source>How many times a broken call is re-established</source>
        <translation>Wie oft ein unterbrochenes Gespräch neu aufgebaut wird</translation>
    </message>
    <message>
        <source>Timeout per attempt:</source>
        <translation>Zeitlimit pro Versuch:</translation>
    </message>
    <message>
        <source>Timeout per attempt</source>
        <translation>Zeitlimit pro Versuch</translation>
    </message>
    <message>
        <source>Seconds one attempt may take</source>
        <translation>Sekunden, die ein Versuch dauern darf</translation>
    </message>
    <message>
        <source>Wait between attempts (s):</source>
        <translation>Wartezeit zwischen Versuchen (s):</translation>
    </message>
    <message>
        <source>Wait between attempts</source>
        <translation>Wartezeit zwischen Versuchen</translation>
    </message>
    <message>
        <source>System language ({language})</source>
        <translation>Systemsprache ({language})</translation>
    </message>
    <message>
        <source>The language of Softphone&apos;s window</source>
        <translation>Die Sprache des Softphone-Fensters</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>Sprache:</translation>
    </message>
    <message>
        <source>A new language applies the next time you start.</source>
        <translation>Eine neue Sprache gilt ab dem nächsten Start.</translation>
    </message>
    <message>
        <source>In the main window</source>
        <translation>Im Hauptfenster</translation>
    </message>
    <message>
        <source>In every Softphone window</source>
        <translation>In jedem Softphone-Fenster</translation>
    </message>
    <message>
        <source>Everywhere, also in other applications</source>
        <translation>Überall, auch in anderen Anwendungen</translation>
    </message>
    <message>
        <source>Answer, hang up and mute shortcuts</source>
        <translation>Tastenkürzel für Annehmen, Auflegen und Stumm</translation>
    </message>
    <message>
        <source>Where the keys for answer, hang up and mute work</source>
        <translation>Wo die Tasten für Annehmen, Auflegen und Stumm wirken</translation>
    </message>
    <message>
        <source>Answer, hang up, mute keys:</source>
        <translation>Tasten Annehmen, Auflegen, Stumm:</translation>
    </message>
    <message>
        <source>Everywhere works on X11, Windows and macOS (allow Softphone under Accessibility), not on Wayland. Other applications still see these keys.</source>
        <translation>„Überall“ funktioniert unter X11, Windows und macOS (Softphone unter Bedienungshilfen erlauben), nicht unter Wayland. Andere Anwendungen sehen diese Tasten weiterhin.</translation>
    </message>
    <message>
        <source>{device} (not connected)</source>
        <translation>{device} (nicht angeschlossen)</translation>
    </message>
</context>
<context>
    <name>Shell</name>
    <message>
        <source>Sign-in failed: {error}</source>
        <translation>Anmeldung fehlgeschlagen: {error}</translation>
    </message>
    <message>
        <source>Answer, hang up and mute keys work only in Softphone&apos;s windows: {reason}.</source>
        <translation>Die Tasten für Annehmen, Auflegen und Stumm wirken nur in den Fenstern von Softphone: {reason}.</translation>
    </message>
    <message>
        <source>No sound device found: you will not hear rings or visitors.</source>
        <translation>Kein Audiogerät gefunden: Sie hören weder Klingeln noch Besucher.</translation>
    </message>
    <message>
        <source>Not signed in: open Settings → Server to sign in.</source>
        <translation>Nicht angemeldet: Öffnen Sie Einstellungen → Server, um sich anzumelden.</translation>
    </message>
    <message>
        <source>Signing in with the new server settings…</source>
        <translation>Anmeldung mit den neuen Servereinstellungen …</translation>
    </message>
    <message>
        <source>Settings saved. The new language applies after a restart.</source>
        <translation>Einstellungen gespeichert. Die neue Sprache gilt nach einem Neustart.</translation>
    </message>
    <message>
        <source>Settings saved. Device changes apply from the next call.</source>
        <translation>Einstellungen gespeichert. Geräteänderungen gelten ab dem nächsten Gespräch.</translation>
    </message>
</context>
<context>
    <name>SignIn</name>
    <message>
        <source>Server:</source>
        <translation>Server:</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <source>The signaling server&apos;s address, e.g. wss://host/ws</source>
        <translation>Die Adresse des Signalisierungsservers, z. B. wss://host/ws</translation>
    </message>
    <message>
        <source>Agent name:</source>
        <translation>Agentenname:</translation>
    </message>
    <message>
        <source>Agent name</source>
        <translation>Agentenname</translation>
    </message>
    <message>
        <source>Your name as visitors and your team see it</source>
        <translation>Ihr Name, wie Besucher und Ihr Team ihn sehen</translation>
    </message>
    <message>
        <source>Access token:</source>
        <translation>Zugangstoken:</translation>
    </message>
    <message>
        <source>Access token</source>
        <translation>Zugangstoken</translation>
    </message>
    <message>
        <source>The secret your team lead gave you; it is never shown</source>
        <translation>Das Geheimnis von Ihrer Teamleitung; es wird nie angezeigt</translation>
    </message>
    <message>
        <source>Sign in to Softphone</source>
        <translation>Bei Softphone anmelden</translation>
    </message>
    <message>
        <source>Enter the details your team lead gave you. They are remembered.</source>
        <translation>Geben Sie die Angaben Ihrer Teamleitung ein. Sie werden gespeichert.</translation>
    </message>
    <message>
        <source>Sign-in problems</source>
        <translation>Probleme bei der Anmeldung</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>Anmelden</translation>
    </message>
    <message>
        <source>Connect to the server with these details</source>
        <translation>Mit diesen Angaben beim Server anmelden</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Stay signed out; sign in later from Settings</source>
        <translation>Abgemeldet bleiben; später über die Einstellungen anmelden</translation>
    </message>
</context>
<context>
    <name>StatusIndicator</name>
    <message>
        <source>Signaling server state</source>
        <translation>Zustand des Signalisierungsservers</translation>
    </message>
    <message>
        <source>Call connection state</source>
        <translation>Zustand der Gesprächsverbindung</translation>
    </message>
</context>
<context>
    <name>StatusText</name>
    <message>
        <source>Server: connecting…</source>
        <translation>Server: verbindet …</translation>
    </message>
    <message>
        <source>Server: connected</source>
        <translation>Server: verbunden</translation>
    </message>
    <message>
        <source>Server: reconnecting…</source>
        <translation>Server: verbindet erneut …</translation>
    </message>
    <message>
        <source>Server: offline</source>
        <translation>Server: offline</translation>
    </message>
    <message>
        <source>Server: {state}</source>
        <translation>Server: {state}</translation>
    </message>
    <message>
        <source>No call</source>
        <translation>Kein Gespräch</translation>
    </message>
    <message>
        <source>Incoming call</source>
        <translation>Eingehender Anruf</translation>
    </message>
    <message>
        <source>Reconnecting… (visitor&apos;s network)</source>
        <translation>Verbindet erneut … (Netz des Besuchers)</translation>
    </message>
    <message>
        <source>Reconnecting…</source>
        <translation>Verbindet erneut …</translation>
    </message>
    <message>
        <source>Reconnecting… (attempt {attempt} of {total})</source>
        <translation>Verbindet erneut … (Versuch {attempt} von {total})</translation>
    </message>
    <message>
        <source>Reconnected after {seconds} s</source>
        <translation>Nach {seconds} s wieder verbunden</translation>
    </message>
    <message>
        <source>Call: connecting…</source>
        <translation>Gespräch: verbindet …</translation>
    </message>
    <message>
        <source>Call: connected</source>
        <translation>Gespräch: verbunden</translation>
    </message>
    <message>
        <source>Call lost</source>
        <translation>Gespräch verloren</translation>
    </message>
    <message>
        <source>Call ended</source>
        <translation>Gespräch beendet</translation>
    </message>
    <message>
        <source>The visitor&apos;s connection dropped — reconnecting…</source>
        <translation>Die Verbindung des Besuchers ist abgerissen – verbindet erneut …</translation>
    </message>
    <message>
        <source>Connection lost — reconnecting…</source>
        <translation>Verbindung verloren – verbindet erneut …</translation>
    </message>
    <message>
        <source>Connection lost — reconnecting (attempt {attempt} of {total})…</source>
        <translation>Verbindung verloren – verbindet erneut (Versuch {attempt} von {total}) …</translation>
    </message>
    <message>
        <source>the visitor hung up</source>
        <translation>der Besucher hat aufgelegt</translation>
    </message>
    <message>
        <source>the visitor&apos;s connection was lost</source>
        <translation>die Verbindung des Besuchers ist abgerissen</translation>
    </message>
    <message>
        <source>the visitor cancelled</source>
        <translation>der Besucher hat abgebrochen</translation>
    </message>
    <message>
        <source>declined</source>
        <translation>abgelehnt</translation>
    </message>
    <message>
        <source>you transferred it</source>
        <translation>Sie haben ihn weitergeleitet</translation>
    </message>
    <message>
        <source>the colleague hands the visitor&apos;s call to you</source>
        <translation>der Kollege übergibt Ihnen den Anruf des Besuchers</translation>
    </message>
    <message>
        <source>the connection could not be restored</source>
        <translation>die Verbindung konnte nicht wiederhergestellt werden</translation>
    </message>
    <message>
        <source>the server connection was lost</source>
        <translation>die Serververbindung ist abgerissen</translation>
    </message>
    <message>
        <source>you hung up</source>
        <translation>Sie haben aufgelegt</translation>
    </message>
    <message>
        <source>the server lost this session</source>
        <translation>der Server hat diese Sitzung verloren</translation>
    </message>
    <message>
        <source>the answer did not reach the server</source>
        <translation>die Annahme hat den Server nicht erreicht</translation>
    </message>
    <message>
        <source>unknown reason</source>
        <translation>unbekannter Grund</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>In a call</source>
        <translation>Im Gespräch</translation>
    </message>
    <message>
        <source>After-call work</source>
        <translation>Nachbearbeitung</translation>
    </message>
    <message>
        <source>Available</source>
        <translation>Verfügbar</translation>
    </message>
    <message>
        <source>Away</source>
        <translation>Abwesend</translation>
    </message>
    <message>
        <source>A visitor</source>
        <translation>Ein Besucher</translation>
    </message>
    <message>
        <source>{name} is calling on {page}</source>
        <translation>{name} ruft von {page} an</translation>
    </message>
    <message>
        <source>{name} is calling</source>
        <translation>{name} ruft an</translation>
    </message>
    <message>
        <source>The connection could not be restored after 1 attempt over {seconds} seconds (last error: {reason}).</source>
        <translation>Die Verbindung konnte nach 1 Versuch in {seconds} Sekunden nicht wiederhergestellt werden (letzter Fehler: {reason}).</translation>
    </message>
    <message>
        <source>The connection could not be restored after {attempts} attempts over {seconds} seconds (last error: {reason}).</source>
        <translation>Die Verbindung konnte nach {attempts} Versuchen in {seconds} Sekunden nicht wiederhergestellt werden (letzter Fehler: {reason}).</translation>
    </message>
    <message>
        <source>Please check your network connection, VPN and firewall, then wait for the next call. The visitor is told that the call ended as soon as the connection allows.</source>
        <translation>Bitte prüfen Sie Netzwerkverbindung, VPN und Firewall und warten Sie dann auf den nächsten Anruf. Der Besucher erfährt, dass das Gespräch beendet ist, sobald die Verbindung es zulässt.</translation>
    </message>
</context>
<context>
    <name>Transfer</name>
    <message>
        <source>Transfer the call</source>
        <translation>Anruf weiterleiten</translation>
    </message>
    <message>
        <source>&amp;Hand the call to</source>
        <translation>&amp;Übergeben an</translation>
    </message>
    <message>
        <source>Hand the call to</source>
        <translation>Übergeben an</translation>
    </message>
    <message>
        <source>Colleagues who are free now, or the waiting line</source>
        <translation>Kollegen, die gerade frei sind, oder die Warteschlange</translation>
    </message>
    <message>
        <source>The waiting line (next free agent)</source>
        <translation>Die Warteschlange (nächster freier Mitarbeiter)</translation>
    </message>
    <message>
        <source>&amp;Note for the colleague</source>
        <translation>&amp;Notiz zur Übergabe</translation>
    </message>
    <message>
        <source>Why you hand the call on</source>
        <translation>Warum Sie den Anruf weitergeben</translation>
    </message>
    <message>
        <source>Note for the colleague</source>
        <translation>Notiz zur Übergabe</translation>
    </message>
    <message>
        <source>Shown to whoever takes the call next</source>
        <translation>Wird dem angezeigt, der den Anruf als Nächstes annimmt</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>Weiterleiten</translation>
    </message>
    <message>
        <source>Hand the call on now; your part of it ends</source>
        <translation>Den Anruf jetzt weitergeben; Ihr Teil des Gesprächs endet</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>Keep the call</source>
        <translation>Den Anruf behalten</translation>
    </message>
    <message>
        <source>Talk first</source>
        <translation>Erst sprechen</translation>
    </message>
    <message>
        <source>Call the colleague while the visitor waits on hold, then hand over</source>
        <translation>Den Kollegen anrufen, während der Besucher wartet, dann übergeben</translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Show Softphone</source>
        <translation>Softphone anzeigen</translation>
    </message>
    <message>
        <source>Available for calls</source>
        <translation>Für Anrufe verfügbar</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
</context>
</TS>
