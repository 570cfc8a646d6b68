// What a page looks like to a person on this screen, measured in the browser and returned as
// plain data (tests/browser/test_organizer_screens.py): how wide the page is, which controls a
// tap cannot reach, which fields are too narrow to read, which text is broken letter by letter,
// how tall the header is.
() => {
  const width = window.innerWidth;
  const out = {pageWidth: document.scrollingElement.scrollWidth, width, unreachable: [], narrow: [], broken: [],
               splitEmails: []};
  // Not inside a closed <details>, display:none or visibility:hidden.
  const visible = (el) => el.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true});
  // Inside a box shrunk to a pixel for screen readers only (a visually hidden table header).
  const screenReaderOnly = (el) => {
    for (let box = el; box; box = box.parentElement) {
      if (box.getBoundingClientRect().width <= 1 && getComputedStyle(box).overflowX !== 'visible') {
        return true;
      }
    }
    return false;
  };
  // A box that hides what overflows it cannot be scrolled by a person: a control that
  // scrollIntoView had to scroll such a box to show is cut off for them.
  const clippedBy = (el) => {
    for (let box = el.parentElement; box; box = box.parentElement) {
      const style = getComputedStyle(box);
      const hides = ['hidden', 'clip'].includes(style.overflowX);
      if (hides && (box.scrollLeft !== 0 || box.scrollTop !== 0)) return box;
    }
    return null;
  };
  const name = (el) => (el.getAttribute('aria-label') || el.innerText || el.value || el.name
                        || el.id || el.tagName).trim().replace(/\s+/g, ' ').slice(0, 60);
  const controls = document.querySelectorAll(
    'main a[href], main button, main input:not([type=hidden]), main select, main textarea, main summary');
  for (const el of controls) {
    if (!visible(el) || el.closest('.skip-link, .hp')) continue;
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    const r = el.getBoundingClientRect();
    // The middle of its first line: where a finger lands on a wrapped link.
    const rects = el.getClientRects();
    const first = rects.length ? rects[0] : r;
    const x = first.left + first.width / 2, y = first.top + first.height / 2;
    const hit = document.elementFromPoint(x, y);
    const clipper = clippedBy(el);
    if (clipper) { clipper.scrollLeft = 0; clipper.scrollTop = 0; }
    const inside = !clipper && r.left >= -0.5 && r.right <= width + 0.5;
    const reached = hit && (hit === el || el.contains(hit) || hit.contains(el)
                            || (el.labels && [...el.labels].some(l => l.contains(hit))));
    // A field too narrow to read what is typed in it (a squeezed column of inputs).
    const typed = el.matches('input[type=text], input[type=email], input[type=search], textarea, select');
    if (typed && r.width < 100) {
      out.narrow.push(`${el.tagName.toLowerCase()} "${name(el)}" is ${Math.round(r.width)} px wide`);
    }
    if (clipper) {
      out.unreachable.push(`${el.tagName.toLowerCase()} "${name(el)}": cut off by its .`
        + String(clipper.className).split(' ')[0]);
    } else if (!inside || !reached) {
      out.unreachable.push(`${el.tagName.toLowerCase()} "${name(el)}" at ${Math.round(r.left)}..`
        + `${Math.round(r.right)}${reached ? '' : ', a tap there hits ' + (hit ? hit.tagName.toLowerCase()
        + (hit.className ? '.' + String(hit.className).split(' ')[0] : '') : 'nothing')}`);
    }
  }
  // Table cells cut off by a box that hides what overflows it (a status or a date column
  // beyond the edge of its card): nothing a person can do shows them.
  for (const cell of document.querySelectorAll('main td, main th')) {
    if (!visible(cell) || screenReaderOnly(cell)) continue;
    const r = cell.getBoundingClientRect();
    for (let box = cell.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') break;  // a person can scroll it
      if (overflow !== 'hidden' && overflow !== 'clip') continue;
      const b = box.getBoundingClientRect();
      if (r.right > b.right + 0.5 || r.left < b.left - 0.5) {
        out.unreachable.push(`cell "${name(cell)}": cut off by its .`
          + String(box.className).split(' ')[0]);
      }
      break;
    }
  }
  // A table wider than its box: it fits, or it becomes cards on a phone; sideways scrolling
  // hides its last columns (the actions) from anyone who does not think of scrolling.
  for (const table of document.querySelectorAll('main table')) {
    const box = table.parentElement;
    if (visible(table) && box.scrollWidth > box.clientWidth + 1) {
      const caption = table.caption ? table.caption.textContent.trim() : name(box);
      out.unreachable.push(`table "${caption.slice(0, 40)}" scrolls sideways:`
        + ` ${box.scrollWidth} px in ${box.clientWidth} px`);
    }
  }
  // Text broken letter by letter: a word split across lines (not at a hyphen, a dot or an
  // "@") in a box so narrow that each line holds only a few characters, as an email address
  // squeezed into a narrow column is. A long word wrapping across full lines is not that.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const word = /[\p{L}\p{N}]/u;
  const lineOf = (node, i) => {
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    const r = [...range.getClientRects()].find(r => r.width > 0);
    return r ? Math.round(r.top) : null;
  };
  // An email address may wrap at its dots, its "@" and its hyphens, never inside a word
  // ("univer|sity"): a person reading it, or copying it down at the door, would misread it.
  // Text nodes joined by <wbr> (the break opportunities a template offers) read as one.
  const email = /[\w.+-]+@[\w-]+(\.[\w-]+)+/gu;
  const splitEmails = (node) => {
    const prev = node.previousSibling;
    if (prev && prev.nodeName === 'WBR' && prev.previousSibling && prev.previousSibling.nodeType === 3) {
      return;  // read with the run it continues
    }
    const chars = [];  // [text node, offset] of each character of the run
    for (let n = node; n; ) {
      for (let i = 0; i < n.textContent.length; i++) chars.push([n, i]);
      const next = n.nextSibling;
      n = next && next.nodeName === 'WBR' && next.nextSibling && next.nextSibling.nodeType === 3
        ? next.nextSibling : null;
    }
    const run = chars.map(([n, i]) => n.textContent[i]).join('');
    for (const match of run.matchAll(email)) {
      for (let i = match.index + 1; i < match.index + match[0].length; i++) {
        if (!word.test(run[i - 1]) || !word.test(run[i])) continue;
        const before = lineOf(...chars[i - 1]), after = lineOf(...chars[i]);
        if (before !== null && after !== null && before !== after) {
          out.splitEmails.push(`"${match[0]}" between "${run.slice(match.index, i)}" and`
            + ` "${run.slice(i, match.index + match[0].length)}"`);
          break;
        }
      }
    }
  };
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent;
    const parent = node.parentElement;
    if (parent && visible(parent) && !screenReaderOnly(parent)) splitEmails(node);
    if (text.trim().length < 8 || !parent || !visible(parent) || screenReaderOnly(parent)) continue;
    range.selectNodeContents(node);
    const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    if (lines.size < 2 || text.trim().length / lines.size >= 12) continue;
    let splits = 0;
    for (let i = 1; i < text.length; i++) {
      if (!word.test(text[i - 1]) || !word.test(text[i])) continue;
      const before = lineOf(node, i - 1), after = lineOf(node, i);
      if (before !== null && after !== null && before !== after) splits++;
    }
    if (splits) out.broken.push(`"${text.trim().slice(0, 50)}" on ${lines.size} lines`);
  }
  window.scrollTo(0, 0);
  const header = document.querySelector('.site-header');
  out.header = header ? Math.round(header.getBoundingClientRect().height) : 0;
  return out;
}
