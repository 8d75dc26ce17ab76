/**
 * The page template: inline CSS and JS, no network (a Content-Security-Policy forbids every fetch
 * and allows only our own script by its hash), no external fonts.
 */
import { createHash } from 'node:crypto'
import { parseAnchor } from '../anchors.js'
import { formatDuration } from '../duration.js'
import { statsText } from './stats.js'
import { LAZY_FIELDS } from './lazy.js'

/** xterm's 16 colours for a dark background, and darker variants for a light one. */
const DARK16 = ['#2e3436', '#ef2929', '#8ae234', '#fce94f', '#729fcf', '#ad7fa8', '#34e2e2', '#d3d7cf', '#888a85', '#ff6b6b', '#b5f27a', '#fff68f', '#9cc3ff', '#d6a6d1', '#7ff5f5', '#ffffff']
const LIGHT16 = ['#000000', '#c01c28', '#26802b', '#8a6a00', '#1c5fc0', '#8f3f9f', '#0f7f86', '#6e6e6e', '#5e5c64', '#e01b24', '#2ea043', '#a37e00', '#2a7be4', '#b04cc5', '#13959c', '#3d3d3d']

function cube(n: number): string {
  const v = [0, 95, 135, 175, 215, 255]
  if (n >= 232) {
    const g = 8 + (n - 232) * 10
    return '#' + g.toString(16).padStart(2, '0').repeat(3)
  }
  const i = n - 16
  return '#' + [v[Math.floor(i / 36)]!, v[Math.floor(i / 6) % 6]!, v[i % 6]!].map((x) => x.toString(16).padStart(2, '0')).join('')
}

function paletteCss(): string {
  let css = ''
  for (let i = 0; i < 256; i++) {
    const c = i < 16 ? `var(--c${i})` : cube(i)
    css += `.f${i}{color:${c}}.b${i}{background-color:${c}}`
  }
  const vars = (p: string[]) => p.map((c, i) => `--c${i}:${c}`).join(';')
  return css + `:root{${vars(LIGHT16)}}@media (prefers-color-scheme: dark){:root{${vars(DARK16)}}}`
}

export const PAGE_CSS = `
:root{color-scheme:light dark;--fg:#1f2328;--bg:#ffffff;--muted:#6e7781;--line:#d0d7de;--hl:#fff8c5;--hlb:#d4a72c;--err:#cf222e;--warn:#bc4c00;--head:#f6f8fa;--sel:#ddf4ff}
@media (prefers-color-scheme: dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8b949e;--line:#30363d;--hl:#3b2e00;--hlb:#9e6a03;--err:#ff7b72;--warn:#f0883e;--head:#161b22;--sel:#0c2d6b}}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--fg)}
body{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace}
#bl-head{position:sticky;top:0;z-index:2;background:var(--head);border-bottom:1px solid var(--line);padding:6px 12px;font-family:system-ui,sans-serif;font-size:13px}
#bl-head h1{font-size:15px;margin:0 0 2px;overflow-wrap:anywhere}
#bl-head .sum{margin:0 0 4px;color:var(--muted)}
#bl-head .sum .e{color:var(--err);font-weight:600}
#bl-head .sum .w{color:var(--warn);font-weight:600}
#bl-head a{color:inherit}
#bl-first-error{color:var(--err)!important;font-weight:600;margin-left:.8em}
#bl-first-error[hidden]{display:none}
.tools{display:flex;gap:6px;flex-wrap:wrap;align-items:center}
.tools button,.tools input{font:inherit;padding:2px 8px}
.tools input{min-width:16em}
#bl-count{color:var(--muted)}
#bl-log{--g:8ch;padding:4px 0 40vh}
#bl-log p,#bl-log summary,.dg{--i:calc(var(--g) + 1.2ch + var(--d,0) * 2ch);margin:0;padding:0 12px 0 var(--i);white-space:pre-wrap;overflow-wrap:anywhere;scroll-margin-top:7em;min-height:1lh}
.c{content-visibility:auto;contain-intrinsic-block-size:auto calc(var(--n,1) * 1lh)}
.c p{counter-increment:n}
.c p::before{content:counter(n)}
#bl-log p::before,#bl-log .n::before{display:inline-block;width:var(--g);margin-left:calc(-1 * var(--i));margin-right:calc(var(--i) - var(--g));text-align:right;color:var(--muted);cursor:pointer;user-select:none;-webkit-user-select:none}
#bl-log .n::before{content:attr(data-n)}
details{margin:0}
details>.b{background:linear-gradient(var(--line),var(--line)) no-repeat calc(var(--g) + 1.6ch + (var(--d) - 1) * 2ch) 0/1px 100%}
summary{cursor:pointer;list-style:none;position:relative}
summary::-webkit-details-marker{display:none}
summary .t::before{content:"\\25B8\\00A0";color:var(--muted);display:inline}
details[open]>summary .t::before{content:"\\25BE\\00A0"}
details.empty>summary .t::before{content:"\\00A0\\00A0"}
summary:hover{background:var(--head)}
summary .st{color:var(--muted);font-family:system-ui,sans-serif;font-size:12px;margin-left:1.5em;white-space:nowrap}
summary .sa{color:var(--muted);text-decoration:none;margin-left:.6em;visibility:hidden}
summary:hover .sa{visibility:visible}
.e,.e .t{color:var(--err);font-weight:700}
.w,.w .t{color:var(--warn);font-weight:700}
.p3{opacity:.62}
.dg{color:var(--warn);font-style:italic}
.dg::before{content:"\\26A0  "}
.hl,details.hl>summary{background:var(--hl)!important;box-shadow:inset 3px 0 0 var(--hlb)}
.cc{color:var(--muted);border:1px solid var(--line);border-radius:2px;font-size:.85em}
.rm::before{content:"\\241B";color:var(--muted);opacity:.7;user-select:none;-webkit-user-select:none}
.zp{height:calc(var(--n,1) * 1lh)}
#bl-results{max-height:40vh;overflow:auto;margin-top:4px;border-top:1px solid var(--line);font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace}
#bl-results p{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
#bl-results .rn{display:inline-block;min-width:8ch;margin-right:1ch;color:var(--muted)}
.sp{text-decoration:underline dotted var(--muted);cursor:copy}
.sp::before{content:"/\\2026";color:var(--muted)}
.sh{font-size:0;letter-spacing:0}
.sb{font-weight:700}.sd{opacity:.65}.si{font-style:italic}.su{text-decoration:underline}.ss{text-decoration:line-through}
.fi{color:var(--bg)}.bi{background-color:var(--fg)}
body.filtering #bl-log p:not(.m),body.filtering #bl-log details:not(.m),body.filtering #bl-log .c:not(.m),body.filtering #bl-log .dg{display:none}
body.filtering #bl-log p.m{background:var(--sel)}
body.filtering .c{content-visibility:visible}
@media print{
  #bl-head{position:static;background:none;border:0}
  .tools,#bl-first-error,summary .sa,#bl-results{display:none}
  :root{--fg:#000;--bg:#fff;--muted:#555}
  .c{content-visibility:visible}
  #bl-log{padding-bottom:0}
  #bl-log p,#bl-log summary{break-inside:avoid}
}
` + paletteCss()

/** The page script. Log text never reaches it except through the DOM (textContent). */
export const PAGE_JS = `(() => {
'use strict';
const LAZY_FIELDS = ${LAZY_FIELDS};
${parseAnchor.toString()}
${formatDuration.toString()}
${statsText.toString()}
const $ = (id) => document.getElementById(id);
let data = { sections: [], open: [] };
let marked = [];
let lastLine = 0;
let saved = null;
function log() { return $('bl-log'); }
// ---- the lazy page (data-mode="lazy", see lib/render/html/lazy.ts): DOM built when shown ----
let Z = null;
function F(ord, k) { return Z.s[(ord - 1) * LAZY_FIELDS + k]; }
function zInit() {
  const L = data.lazy || { root: [-1, -1], s: [] };
  Z = { blocks: $('bl-z').children, s: L.s, root: L.root, cache: new Map(), el: new Map(), fold: null, active: new Set(), pumping: false, done: false, refilter: false };
  Z.el.set(0, log());
  fill(log(), 0);
  addEventListener('scroll', schedule, { passive: true });
  addEventListener('resize', schedule);
}
/** Block b has been parsed to its end (Chromium may still be parsing the page). */
function complete(b) { return b < Z.blocks.length - 1 || (Z.done && b < Z.blocks.length); }
/** The lazy page starts as soon as its data block is parsed, before the blocks below it are. */
function boot() {
  if (Z || !document.body || document.body.dataset.mode !== 'lazy') return;
  if (!$('bl-z')) { if (document.readyState === 'loading') setTimeout(boot, 20); return; }
  readData();
  fillHeader();
  zInit();
  document.documentElement.dataset.interactive = '1';
}
setTimeout(boot, 0);
function records(b) {
  let r = Z.cache.get(b);
  if (r) return r;
  const text = Z.blocks[b].textContent;
  const re = /<!([0-9]+):([0-9]+)>/g;
  r = [];
  let m = re.exec(text);
  while (m) {
    const from = re.lastIndex;
    const next = re.exec(text);
    r.push({ o: Number(m[1]), n: Number(m[2]), h: text.slice(from, next ? next.index : text.length) });
    m = next;
  }
  if (Z.cache.size >= 64) Z.cache.clear();
  Z.cache.set(b, r);
  return r;
}
function fill(box, ord) {
  if (box.zp !== undefined) return;
  const rg = ord === 0 ? Z.root : [F(ord, 1), F(ord, 2)];
  box.zp = null;
  if (rg[0] < 0) return;
  const zp = document.createElement('div');
  zp.className = 'zp';
  zp.style.setProperty('--n', String(ord === 0 ? 40 : Math.max(1, Math.min(F(ord, 3) + F(ord, 6), 5000))));
  zp.z = { o: ord, b: rg[0], r: 0, end: rg[1] };
  box.zp = zp;
  box.appendChild(zp);
  Z.active.add(zp);
  schedule();
}
function countP(h) {
  let n = 0;
  for (let i = h.indexOf('<p'); i >= 0; i = h.indexOf('<p', i + 2)) n++;
  return n;
}
/**
 * Turns the next records of the placeholder's section into DOM (about \`rows\` rows). Returns 1
 * when the section is complete, 0 when there is more, -1 when its next block is not parsed yet.
 */
function step(zp, rows) {
  const z = zp.z;
  let html = '';
  let made = 0;
  while (z.b <= z.end && made < rows && complete(z.b)) {
    const recs = records(z.b);
    while (z.r < recs.length && made < rows) {
      const rec = recs[z.r++];
      if (rec.o !== z.o) continue;
      if (rec.n > 0 && rec.h.startsWith('<p')) {
        const k = countP(rec.h);
        html += '<div class="c" data-f="' + rec.n + '" style="--n:' + k + '">' + rec.h + '</div>';
        made += k;
      } else {
        html += rec.h;
        made++;
      }
    }
    if (z.r >= recs.length) { z.b++; z.r = 0; }
  }
  const tpl = document.createElement('template');
  tpl.innerHTML = html;
  const frag = tpl.content;
  for (const c of frag.querySelectorAll('div.c[data-f]')) {
    let i = Number(c.getAttribute('data-f'));
    c.removeAttribute('data-f');
    if (c.firstElementChild) c.firstElementChild.style.counterSet = 'n ' + i;
    for (const p of c.children) p.id = 'L' + i++;
  }
  titles(frag);
  const shells = Array.from(frag.querySelectorAll('details[data-o]'));
  zp.before(frag);
  for (const d of shells) shell(d);
  if (z.b > z.end) { zp.remove(); Z.active.delete(zp); return 1; }
  zp.style.setProperty('--n', String(Math.max(1, parseInt(zp.style.getPropertyValue('--n'), 10) - made)));
  return made > 0 || complete(z.b) ? 0 : -1;
}
/** Store paths: the full path on hover (the lazy page does not repeat it in the markup). */
function titles(root) {
  for (const sp of root.querySelectorAll('.sp')) sp.title = sp.textContent;
}
function shell(d) {
  const o = Number(d.getAttribute('data-o'));
  Z.el.set(o, d);
  const st = d.querySelector(':scope > summary > .st');
  if (st) st.textContent = statsText({ lines: F(o, 3), errors: F(o, 4), warnings: F(o, 5), durationMs: F(o, 8) >= 0 ? F(o, 8) : undefined, failed: (F(o, 7) & 1) === 1 });
  if (F(o, 3) === 0 && F(o, 6) === 0) d.classList.add('empty');
  if (Z.fold === null ? (F(o, 7) & 2) === 2 : Z.fold) zOpen(d);
}
function zOpen(d) {
  d.open = true;
  fill(d.lastElementChild, Number(d.getAttribute('data-o')));
}
function schedule() {
  if (Z && !Z.pumping) { Z.pumping = true; requestAnimationFrame(pump); }
}
/** Fills the placeholders near the viewport, in slices of ~12 ms per frame. */
function pump() {
  Z.pumping = false;
  const t0 = performance.now();
  const h = innerHeight;
  let more = true;
  let wait = false;
  while (more && performance.now() - t0 < 12) {
    more = false;
    for (const zp of Array.from(Z.active)) {
      if (!zp.isConnected) { Z.active.delete(zp); continue; }
      if (zp.getClientRects().length === 0) continue;
      const r = zp.getBoundingClientRect();
      if (r.top > 2 * h || r.bottom < -h) continue;
      const st = step(zp, 300);
      if (st === 0) more = true;
      else if (st < 0) wait = true;
    }
  }
  if (more) schedule();
  else if (wait && !Z.done) setTimeout(schedule, 50);
}
function until(box, pred) {
  const zp = box && box.zp;
  while (!pred() && zp && zp.isConnected && step(zp, 2000) === 0);
  return pred();
}
/** Builds the DOM down to line n (opening the sections on the way); the element or null. */
function zLine(n) {
  let el = $('L' + n);
  if (el) return el;
  const lo = (i) => Number(Z.blocks[i].getAttribute('data-l'));
  let a = 0, b = Z.blocks.length - 1, k = -1;
  while (a <= b) { const m = (a + b) >> 1; if (lo(m) <= n) { k = m; a = m + 1; } else b = m - 1; }
  if (k < 0 || !complete(k)) return null;
  let ord = -1;
  for (const r of records(k)) if (r.n > 0 && r.n <= n) ord = r.o;
  if (ord < 0) return null;
  const chain = [];
  for (let o = ord; o > 0; o = F(o, 0)) chain.unshift(o);
  let box = log();
  for (const o of chain) {
    if (!until(box, () => Z.el.has(o))) return null;
    const d = Z.el.get(o);
    zOpen(d);
    box = d.lastElementChild;
  }
  until(box, () => $('L' + n));
  return $('L' + n);
}
function zSection(path) {
  let box = log();
  let el = null;
  for (let i = 0; i < path.length; i++) {
    const id = 'S' + path.slice(0, i + 1).join('.');
    if (!until(box, () => $(id))) return null;
    el = $(id);
    if (i < path.length - 1) { zOpen(el); box = el.lastElementChild; }
  }
  return el;
}
function zFold(v) {
  Z.fold = v;
  for (const [o, d] of Z.el) {
    if (o === 0) continue;
    const open = v === null ? (F(o, 7) & 2) === 2 : v;
    if (open) zOpen(d); else d.open = false;
  }
  schedule();
}
const ENT = { lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'" };
function plain(h) { return h.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot|#39);/g, (m, e) => ENT[e]); }
/** The search box of the lazy page: searches every block (shown or not) and lists the hits. */
function zFilter(q) {
  const res = $('bl-results');
  if (!q) { res.hidden = true; res.textContent = ''; $('bl-count').textContent = ''; return; }
  if (!Z.done) { Z.refilter = true; $('bl-count').textContent = 'searching…'; return; }
  const MAX = 1000;
  let hits = 0;
  let html = '';
  const hit = (n, body) => {
    hits++;
    if (hits <= MAX) html += '<p><a class="rn" href="#L' + n + '">' + n + '</a>' + body + '</p>';
  };
  for (let b = 0; b < Z.blocks.length; b++) {
    if (!plain(Z.blocks[b].textContent).toLowerCase().includes(q)) continue;
    for (const r of records(b)) {
      if (r.n === 0) continue;
      if (r.h.startsWith('<p')) {
        const ls = r.h.split('<p');
        for (let i = 1; i < ls.length; i++) {
          const body = ls[i].slice(ls[i].indexOf('>') + 1);
          if (plain(body).toLowerCase().includes(q)) hit(r.n + i - 1, body);
        }
      } else {
        const m = /<span class="t">([\\s\\S]*)<\\/span><span class="st">/.exec(r.h);
        if (m && plain(m[1]).toLowerCase().includes(q)) hit(r.n, m[1]);
      }
    }
  }
  res.innerHTML = html;
  titles(res);
  res.hidden = hits === 0;
  $('bl-count').textContent = (hits === 1 ? '1 matching line' : hits + ' matching lines') + (hits > MAX ? ' (the first ' + MAX + ' listed)' : '');
}

function sections() { return log().querySelectorAll('details'); }
function openAncestors(el) {
  for (let d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
}
function defaultFolding() {
  const hot = new Set(data.open);
  for (const d of sections()) d.open = d.id ? hot.has(d.id.slice(1)) : d.hasAttribute('data-hot');
}
function go(hash, scroll) {
  const a = parseAnchor(hash || '');
  for (const el of marked) el.classList.remove('hl');
  marked = [];
  if (!a) return;
  let first = null;
  if (Z && a.kind === 'line') for (let i = a.from, to = Math.min(a.to, a.from + 999); i <= to; i++) if (!zLine(i)) break;
  if (Z && a.kind === 'section') zSection(a.path);
  if (a.kind === 'line') {
    const to = Math.min(a.to, a.from + 9999);
    for (let i = a.from; i <= to; i++) {
      const el = $('L' + i);
      if (!el) continue;
      openAncestors(el);
      el.classList.add('hl');
      marked.push(el);
      if (!first) first = el;
    }
    if (first) lastLine = a.from;
  } else {
    const el = $('S' + a.path.join('.'));
    if (el && el.tagName === 'DETAILS') {
      el.open = true;
      openAncestors(el);
      el.classList.add('hl');
      marked.push(el);
      first = el;
    }
  }
  if (first && scroll) {
    // (a section past Chromium's nesting limit, 512 elements, is parsed empty: its summary follows it)
    const target = first.tagName === 'DETAILS' ? first.firstElementChild || first : first;
    target.scrollIntoView({ block: 'center' });
    requestAnimationFrame(() => target.scrollIntoView({ block: 'center' }));
  }
}
function setHash(h) {
  if (location.hash === '#' + h) go(h, false); else location.hash = h;
}
function lineOf(el) {
  const m = /^L([0-9]+)$/.exec(el.id || '');
  return m ? Number(m[1]) : 0;
}
function clickNumber(ev, n) {
  ev.preventDefault();
  if (ev.shiftKey && lastLine) {
    const a = Math.min(lastLine, n), b = Math.max(lastLine, n);
    setHash(a === b ? 'L' + a : 'L' + a + '-L' + b);
  } else {
    lastLine = n;
    setHash('L' + n);
  }
}
let timer = 0;
function filter() {
  const q = $('bl-search').value.toLowerCase();
  if (Z) return zFilter(q);
  const root = log();
  for (const el of root.querySelectorAll('.m')) el.classList.remove('m');
  if (!q) {
    document.body.classList.remove('filtering');
    $('bl-count').textContent = '';
    if (saved) { const all = sections(); saved.forEach((o, i) => { if (all[i]) all[i].open = o; }); saved = null; }
    return;
  }
  const all = sections();
  if (!saved) saved = Array.from(all, (d) => d.open);
  let hits = 0;
  for (const el of root.querySelectorAll('p, summary')) {
    if (!el.textContent.toLowerCase().includes(q)) continue;
    hits++;
    el.classList.add('m');
    if (el.parentElement && el.parentElement.classList.contains('c')) el.parentElement.classList.add('m');
    for (let d = el.closest('details'); d && !d.classList.contains('m'); d = d.parentElement && d.parentElement.closest('details')) {
      d.classList.add('m');
      d.open = true;
    }
  }
  document.body.classList.add('filtering');
  $('bl-count').textContent = hits === 1 ? '1 matching line' : hits + ' matching lines';
}
document.addEventListener('click', (ev) => {
  const t = ev.target;
  if (!(t instanceof Element)) return;
  if (t.id === 'bl-expand') { if (Z) zFold(true); else for (const d of sections()) d.open = true; return; }
  if (t.id === 'bl-collapse') { if (Z) zFold(false); else for (const d of sections()) d.open = false; return; }
  if (t.id === 'bl-default') { if (Z) zFold(null); else defaultFolding(); return; }
  if (t.classList.contains('n')) { const n = Number(t.getAttribute('data-n')); if (n) clickNumber(ev, n); return; }
  if (t.tagName === 'P' && t.id && ev.offsetX < parseFloat(getComputedStyle(t).paddingLeft)) { clickNumber(ev, lineOf(t)); return; }
  const sp = t.closest('.sp');
  if (sp && getSelection().isCollapsed) getSelection().selectAllChildren(sp);
});
window.addEventListener('hashchange', () => go(location.hash, true));
document.addEventListener('input', (ev) => { if (ev.target.id === 'bl-search') { clearTimeout(timer); timer = setTimeout(filter, 200); } });
document.addEventListener('keydown', (ev) => { if (ev.target.id === 'bl-search' && ev.key === 'Enter') { clearTimeout(timer); filter(); } });
document.addEventListener('toggle', (ev) => {
  const d = ev.target;
  if (Z && d instanceof HTMLDetailsElement && d.open && d.hasAttribute('data-o')) { fill(d.lastElementChild, Number(d.getAttribute('data-o'))); schedule(); }
}, true);
function readData() {
  const el = $('bl-data');
  try { data = JSON.parse(el ? el.textContent : '{}'); } catch (e) { data = { sections: [], open: [] }; }
}
function fillHeader() {
  const p = data.page || {};
  if (p.gutter) log().style.setProperty('--g', p.gutter + 'ch');
  $('bl-lines').textContent = p.lines === 1 ? '1 line' : (p.lines || 0).toLocaleString('en-US') + ' lines';
  $('bl-errors').textContent = p.errors === 1 ? '1 error' : (p.errors || 0) + ' errors';
  $('bl-warnings').textContent = p.warnings === 1 ? '1 warning' : (p.warnings || 0) + ' warnings';
  if (p.duration) $('bl-duration').textContent = ' · ' + p.duration;
  if (p.firstError) { const a = $('bl-first-error'); a.href = '#' + p.firstError; a.hidden = false; }
}
document.addEventListener('DOMContentLoaded', () => {
  const mode = document.body.dataset.mode;
  if (mode === 'lazy') boot(); else readData();
  if (mode === 'stream') {
    const all = sections();
    const hot = new Set(data.open);
    all.forEach((d, i) => {
      const s = data.sections[i];
      if (s) {
        const st = d.querySelector(':scope > summary > .st');
        if (st) st.textContent = statsText(s);
        if (s.lines === 0 && s.children === 0) d.classList.add('empty');
      }
      if (hot.has(d.id.slice(1))) d.open = true;
    });
  }
  if (mode === 'stream') fillHeader();
  if (Z) {
    Z.done = true;
    schedule();
    if (Z.refilter) filter();
  }
  if (location.hash) go(location.hash, true);
  document.documentElement.dataset.ready = '1';
});
})();
`

export const PAGE_JS_HASH = createHash('sha256').update(PAGE_JS).digest('base64')

export const CSP = `default-src 'none'; script-src 'sha256-${PAGE_JS_HASH}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`
