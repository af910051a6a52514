// A refusal of the API in the page's language. The API's problem responses carry a stable
// type (`urn:estatewatch:problem:<slug>`, api/errors.py) and the field at fault; their
// `detail` is English, with `detail_zh` where a person at the counter meets it. In Chinese
// the page never shows the English text: `detail_zh`, else a text of the slug with the
// field's label. In English the API's own detail says the most.

import { EN } from './strings-en.js';
import { ZH } from './strings-zh.js';
import { PROBLEM_EN, PROBLEM_ZH } from './problem-strings.js';
import { lang, t, tr } from './i18n.js';

Object.assign(ZH, PROBLEM_ZH);
Object.assign(EN, PROBLEM_EN);

const PREFIX = 'urn:estatewatch:problem:';
const KNOWN = new Set(Object.keys(PROBLEM_EN).map((k) => k.slice('problem.'.length)));

/** The slug of a problem: its type's last part, or one from the status for a bare one. */
export function slugOf(status, problem = {}) {
  const type = String(problem.type ?? '');
  if (type.startsWith(PREFIX)) return type.slice(PREFIX.length);
  if (status === 401) return 'not-authenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 422) return 'invalid-input';
  if (status === 429) return 'too-many-requests';
  if (status === 503) return 'unavailable';
  return status >= 500 ? 'internal' : 'other';
}

/** A field's label in the page's language, or null when the page has none for it. */
function fieldLabel(name) {
  const last = String(name).split('.').filter((p) => !/^\d+$/.test(p)).pop() ?? name;
  const text = t(`field.${last}`);
  return text !== last ? text : null;
}

function chinese(status, problem, slug) {
  if (problem.detail_zh) return problem.detail_zh;
  if (slug === 'not-authenticated' && problem.instance === '/auth/token') return t('problem.wrong-password');
  if (slug === 'illegal-transition') {
    const text = t('problem.illegal-transition', { state: tr('orderState', problem.state), action: tr('action', problem.action) });
    const allowed = (problem.allowed ?? []).map((a) => tr('action', a)).join(t('common.listSep'));
    return allowed ? `${text}；${t('problem.allowed', { actions: allowed })}` : text;
  }
  if (slug === 'invalid-input') {
    const names = (problem.errors ?? []).map((e) => e.field).concat(problem.field ?? []);
    const labels = [...new Set(names.map(fieldLabel).filter(Boolean))];
    return labels.length ? t('problem.invalid-field', { fields: labels.join(t('common.listSep')) }) : t('problem.invalid-input');
  }
  return t(`problem.${KNOWN.has(slug) ? slug : 'other'}`, { status });
}

/** The text to show for a refusal with this status and problem body. */
export function problemText(status, problem = {}) {
  const slug = slugOf(status, problem);
  if (lang === 'zh-CN') return chinese(status, problem, slug);
  return problem.detail || problem.title || t(`problem.${KNOWN.has(slug) ? slug : 'other'}`, { status });
}
