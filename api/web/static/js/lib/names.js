// Names in the site config are written "English 中文" ("Domestic pump room 生活泵房"):
// each page shows the part in its language, or the whole name when there is one part.

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

/** Lookups by id over one site's layout (from GET /web/layout). */
export class SiteIndex {
  constructor(site) {
    this.site = site;
    this.buildings = new Map(site.buildings.map((b) => [b.id, b]));
    this.devices = new Map(site.devices.map((d) => [d.id, d]));
    this.checkpoints = new Map(site.checkpoints.map((c) => [c.id, c]));
    this.routes = new Map(site.routes.map((r) => [r.id, r]));
    this.guards = new Map(site.guards.map((g) => [g.id, g]));
  }

  building(id) {
    const b = this.buildings.get(id);
    return b ? localName(b.name) : id ?? '';
  }

  room(buildingId, roomId) {
    const room = this.buildings.get(buildingId)?.rooms.find((r) => r.id === roomId);
    return room ? localName(room.name) : roomId ?? '';
  }

  device(id) {
    const d = this.devices.get(id);
    return d ? localName(d.name) : id ?? '';
  }

  checkpoint(id) {
    const c = this.checkpoints.get(id);
    return c ? localName(c.name) : id ?? '';
  }

  guard(id) {
    const g = this.guards.get(id);
    return g ? localName(g.name) : id ?? '';
  }

  /** "二号楼 · Tower 2 car A" for an alarm or an order's building/device/room. */
  where({ building, room, device, target, target_kind: kind }) {
    const parts = [];
    if (building) parts.push(this.building(building));
    const subject = device ?? (kind === 'device' ? target : null);
    if (subject) parts.push(this.device(subject));
    else if (kind === 'checkpoint' && target) parts.push(this.checkpoint(target));
    else if (kind === 'guard' && target) parts.push(this.guard(target));
    else if (room) parts.push(this.room(building, room));
    else if (target && kind !== 'site') parts.push(target);
    return parts.join(' · ');
  }
}
