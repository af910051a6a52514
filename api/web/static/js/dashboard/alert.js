// The critical thing impossible to miss: while a critical alarm is unacknowledged, a
// flashing banner on every board and a beep every two seconds (WebAudio, no sound file).
// The sound can be muted (kept on this screen); browsers start audio only after someone
// has clicked the page, so until then the sound button asks for a click.

import { $ } from '../lib/dom.js';
import { t, tr } from '../lib/i18n.js';
import { duration, faultSpan, ms } from '../lib/time.js';
import { acknowledge } from './alarms.js';
import { needsAttention, on, store } from './store.js';

const BEEP_EVERY_MS = 2000;
const MUTE_KEY = 'ew.muted';

let audio = null;
let muted = localStorage.getItem(MUTE_KEY) === 'true';
let lastBeep = 0;
let beeps = 0;

/** Critical, active, and nobody has acknowledged it (or asked to). */
function ensureAudio() {
  // Before anyone clicked the page the browser would refuse (and complain): wait for it.
  const activated = navigator.userActivation?.hasBeenActive ?? true;
  if (!audio && window.AudioContext && activated) audio = new AudioContext();
  if (audio?.state === 'suspended') audio.resume().catch(() => {});
  return audio;
}

function beep() {
  const ctx = ensureAudio();
  if (!ctx || ctx.state !== 'running') return false;
  const start = ctx.currentTime;
  for (const [offset, frequency] of [[0, 880], [0.25, 660]]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'square';
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start + offset);
    osc.stop(start + offset + 0.22);
  }
  return true;
}

function paintSoundButton(alerting) {
  const button = $('#sound');
  const blocked = !muted && alerting && audio?.state !== 'running';
  button.textContent = t(muted ? 'sound.off' : blocked ? 'sound.blocked' : 'sound.on');
  button.setAttribute('aria-pressed', String(muted));
  button.classList.toggle('attention', blocked);
  button.dataset.beeps = String(beeps);
}

function update() {
  const urgent = [...store.alarms.values()]
    .filter(needsAttention)
    .sort((a, b) => ms(a.raised_at) - ms(b.raised_at));
  const banner = $('#banner');
  banner.hidden = urgent.length === 0;
  document.body.classList.toggle('alerting', urgent.length > 0);
  if (urgent.length) {
    const first = urgent[0];
    let text = t('alarm.banner', {
      category: tr('category', first.category),
      where: store.index.where(first),
      age: duration(faultSpan(first)),
    });
    if (urgent.length > 1) text += ` · ${t('alarm.more', { n: urgent.length - 1 })}`;
    $('#banner-text').textContent = text;
    banner.dataset.alarm = first.alarm_id;
    if (!muted && Date.now() - lastBeep >= BEEP_EVERY_MS) {
      lastBeep = Date.now();
      if (beep()) beeps += 1;
    }
  }
  paintSoundButton(urgent.length > 0);
}

export function initAlert() {
  $('#sound').addEventListener('click', () => {
    if (!muted && audio?.state !== 'running') ensureAudio();
    else {
      muted = !muted;
      localStorage.setItem(MUTE_KEY, String(muted));
    }
    if (!muted) ensureAudio();
    update();
  });
  // Any click or key on the page unlocks audio (the browser's autoplay rule).
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, () => { if (!muted) ensureAudio(); }, { once: true });
  }
  $('#banner-ack').addEventListener('click', () => {
    const alarm = store.alarms.get($('#banner').dataset.alarm);
    if (alarm) acknowledge(alarm);
  });
  if (!muted) ensureAudio();
  on('alarms', update);
  on('tick', update);
}
