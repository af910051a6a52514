// A new order for me, at once: my own live stream (GET /stream?mine=true, only the changes
// of orders assigned to me or made by me), a short sound played with WebAudio (no audio
// file) and a browser notification when the technician allowed them. While the stream is
// down the page falls back to reading its list every 20 s.

import { LiveStream } from '../lib/sse.js';
import { $, h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { textIn } from '../lib/names.js';

const FALLBACK_POLL_MS = 20_000;
let audio = null;

/** Browsers start audio only after a gesture: the first tap or key on the page opens it. */
function unlockAudio() {
  const Context = window.AudioContext ?? window.webkitAudioContext;
  if (!Context) return;
  audio ??= new Context();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
}

/** Two short rising beeps; whether the sound could start (false before any gesture). */
export function beep() {
  if (!audio || audio.state !== 'running') return false;
  const start = audio.currentTime;
  for (const [offset, pitch] of [[0, 880], [0.25, 1320]]) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = pitch;
    gain.gain.setValueAtTime(0.2, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.2);
    tone.connect(gain).connect(audio.destination);
    tone.start(start + offset);
    tone.stop(start + offset + 0.2);
  }
  return true;
}

function notify(order) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return false;
  try {
    new Notification(t('alert.newOrder'), { body: textIn(order, 'title'), tag: `order-${order.id}` });
    return true;
  } catch {
    return false; // Android Chrome shows notifications only from a service worker
  }
}

/** Tell the technician of `order`, new to them: banner, sound, notification. */
export function announce(order) {
  const played = beep();
  const shown = notify(order);
  const banner = $('#alert');
  banner.replaceChildren(t('alert.newOrder'), ' · ', h('strong', {}, textIn(order, 'title')));
  Object.assign(banner.dataset, { order: order.id, sound: String(played), notified: String(shown) });
  banner.hidden = false;
}

function showStatus(state) {
  const box = $('#live');
  box.dataset.state = state;
  box.textContent = t(state === 'live' ? 'alert.live' : 'alert.offline');
}

/** Ask for notifications (a button: browsers ask only on a gesture). */
function bindPermission() {
  const button = $('#alerts-on');
  const supported = 'Notification' in window;
  button.hidden = !supported || Notification.permission !== 'default';
  button.addEventListener('click', async () => {
    unlockAudio();
    await Notification.requestPermission().catch(() => 'denied');
    button.hidden = Notification.permission !== 'default';
  });
}

/** Follow my stream: `onOrder(payload)` for each change of my orders, `reload()` when the
 * stream (re)starts or, every 20 s, while it is down. */
export function followMine({ onOrder, reload }) {
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, unlockAudio, { passive: true });
  bindPermission();
  let poll = 0;
  const stream = new LiveStream({
    params: '?mine=true',
    onReady: reload,
    onEvent: (name, payload) => {
      if (name === 'workorder' && payload) onOrder(payload);
    },
    onStatus: (state) => {
      showStatus(state);
      if (state === 'live') {
        clearInterval(poll);
        poll = 0;
      } else if (!poll) poll = setInterval(reload, FALLBACK_POLL_MS);
    },
    onUnauthorized: () => location.reload(),
  });
  stream.start();
  // A re-assignment away from me is on the new assignee's stream, not mine: read the list
  // again whenever the page is shown (the phone woke up).
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') reload();
  });
  return stream;
}
