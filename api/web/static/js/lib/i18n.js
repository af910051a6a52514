// Language: the first of the browser's languages that the pages have (中文 for any zh-*),
// else 中文; a choice made with the language button is kept on this device.
// t(key, params) looks a text up; applyI18n(root) fills [data-i18n] elements.

import { EN } from './strings-en.js';
import { ORDERS_EN, ORDERS_ZH } from './strings-orders.js';
import { PLANT_EN, PLANT_ZH } from './strings-plant.js';
import { ENUM_ZH, ZH } from './strings-zh.js';

Object.assign(EN, PLANT_EN, ORDERS_EN);
Object.assign(ZH, PLANT_ZH, ORDERS_ZH);

const TABLES = { 'zh-CN': ZH, en: EN };
const STORAGE_KEY = 'ew.lang';

function pick() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && saved in TABLES) return saved;
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language || ''];
  for (const tag of wanted) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

export const lang = pick();
const table = TABLES[lang];

/** The text of `key` with `{name}` placeholders filled from `params`; the key itself when
 * there is no text for it (so an unknown enum value still shows). */
export function t(key, params = {}) {
  const text = table[key] ?? EN[key];
  if (text === undefined) return key.includes('.') ? key.slice(key.indexOf('.') + 1) : key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ''));
}

/** An enum value's label (e.g. tr('severity', 'critical')), the value itself if unknown. */
export function tr(group, value) {
  if (value === null || value === undefined || value === '') return '';
  const key = `${group}.${value}`;
  return key in table || key in EN ? t(key) : String(value);
}

/** A register map's enum text ("stopped between floors") in the page's language. */
export function enumText(text) {
  return lang === 'zh-CN' ? ENUM_ZH[text] ?? text : text;
}

/** Fill every [data-i18n] element's text and every [data-i18n-attr] ("attr:key;...") attribute. */
export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

/** The language button: shows the other language and switches to it (the page reloads,
 * so every board is drawn again in the new language). */
export function bindLanguageButton(button) {
  button.textContent = t('lang.other');
  button.setAttribute('aria-label', t('lang.otherLabel'));
  button.lang = lang === 'zh-CN' ? 'en' : 'zh-CN';
  button.addEventListener('click', () => {
    localStorage.setItem(STORAGE_KEY, lang === 'zh-CN' ? 'en' : 'zh-CN');
    location.reload();
  });
}
