// Names and texts in the page's language. The API sends both (docs/api.md): a name as
// `name` (both joined, "Tower 2 car A 2号楼A梯"), `name_en` and `name_zh`; a text as `title`
// (English, or the only language it has) and `title_zh`. Older data has only the joined
// `name`: localName shows the part in the page's language, or the whole when it has one part.

import { lang } from './i18n.js';

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;

export function localName(name) {
  if (!name) return '';
  const words = name.split(/\s+/);
  const first = words.findIndex((word) => CJK.test(word));
  if (first <= 0) return name;
  const english = words.slice(0, first).join(' ');
  const chinese = words.slice(first).join(' ');
  return lang === 'zh-CN' ? chinese : english;
}

/** 4 hex digits of FNV-1a over "site:TAG_UID", as api/web/layout.py's tag_hint: a phone
 * without signal names the checkpoint of a scan it keeps (the API's answer counts). */
export function tagHint(site, tagUid) {
  let value = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${site}:${tagUid}`)) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return (value & 0xffff).toString(16).padStart(4, '0');
}

/** An object's name (a device, room, building, checkpoint, route, guard, site) in the
 * page's language. */
export function nameOf(thing) {
  if (!thing) return '';
  const own = lang === 'zh-CN' ? thing.name_zh : thing.name_en;
  return own || localName(thing.name);
}

/** A text field carried as `field` and `field_zh` (an alarm's title or message, an order's
 * title) in the page's language. */
export function textIn(thing, field) {
  if (!thing) return '';
  return (lang === 'zh-CN' && thing[`${field}_zh`]) || thing[field] || '';
}

/** A round's route name in the page's language. */
export function routeNameOf(round) {
  const own = lang === 'zh-CN' ? round?.route_name_zh : round?.route_name_en;
  return own || localName(round?.route_name);
}

/** Lookups by id over one site's layout (from GET /web/layout). */
export class SiteIndex {
  constructor(site) {
    this.site = site;
    this.buildings = new Map(site.buildings.map((b) => [b.id, b]));
    this.devices = new Map(site.devices.map((d) => [d.id, d]));
    this.checkpoints = new Map(site.checkpoints.map((c) => [c.id, c]));
    this.routes = new Map(site.routes.map((r) => [r.id, r]));
    this.guards = new Map(site.guards.map((g) => [g.id, g]));
    this.hints = new Map(site.checkpoints.filter((c) => c.tag_hint).map((c) => [c.tag_hint, c.id]));
  }

  /** The checkpoint a tag most likely is, by its hint, before the API has answered. */
  checkpointOfTag(tagUid) {
    return this.hints.get(tagHint(this.site.id, tagUid)) ?? null;
  }

  building(id) {
    const b = this.buildings.get(id);
    return b ? nameOf(b) : id ?? '';
  }

  room(buildingId, roomId) {
    const room = this.buildings.get(buildingId)?.rooms.find((r) => r.id === roomId);
    return room ? nameOf(room) : roomId ?? '';
  }

  device(id) {
    const d = this.devices.get(id);
    return d ? nameOf(d) : id ?? '';
  }

  checkpoint(id) {
    const c = this.checkpoints.get(id);
    return c ? nameOf(c) : id ?? '';
  }

  guard(id) {
    const g = this.guards.get(id);
    return g ? nameOf(g) : id ?? '';
  }

  route(id) {
    const r = this.routes.get(id);
    return r ? nameOf(r) : id ?? '';
  }

  /** "二号楼 · 2号楼A梯" for an alarm or an order's building/device/room. */
  where({ building, room, device, target, target_kind: kind }) {
    const parts = [];
    if (building) parts.push(this.building(building));
    const subject = device ?? (kind === 'device' ? target : null);
    if (subject) parts.push(this.device(subject));
    else if (kind === 'checkpoint' && target) parts.push(this.checkpoint(target));
    else if (kind === 'guard' && target) parts.push(this.guard(target));
    else if (kind === 'route' && target) parts.push(this.route(target));
    else if (room) parts.push(this.room(building, room));
    else if (target && kind !== 'site') parts.push(target);
    return parts.join(' · ');
  }
}
