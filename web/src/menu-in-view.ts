/**
 * Keeps @dhis2/ui's dropdown menus (single and multi selects) inside the window. Their menu opens
 * in a fixed layer below the field, and its Popper flips upwards only when the menu would leave the
 * *document* (its `flip` boundary is document.body, and the select takes no modifiers), so a field
 * near the bottom of the window opened a menu whose options lay below the window, out of reach: the
 * fixed layer does not scroll. When a menu appears and its bottom is below the window, the page is
 * scrolled up by that much (as far as the field itself stays in view); Popper follows the field on
 * scroll, so the menu comes up with it. At the very end of the document, where the page cannot
 * scroll, Popper's own flip applies.
 */
const MENU = '[data-test$="-menuwrapper"]';
/** Room kept between the menu and the window's edge, in pixels. */
const MARGIN = 8;
/** Room kept above the menu for the field it belongs to. */
const FIELD_ROOM = 56;

function bringIntoView(menu: HTMLElement): void {
  const rect = menu.getBoundingClientRect();
  const overflow = rect.bottom + MARGIN - window.innerHeight;
  if (overflow <= 0) return;
  // The field (about 40 px high) sits just above the menu: it stays in the window too.
  const room = Math.max(0, rect.top - FIELD_ROOM);
  window.scrollBy({ top: Math.min(overflow, room), behavior: 'instant' });
}

export function keepMenusInView(): () => void {
  const seen = new WeakSet<Element>();
  const observer = new MutationObserver(() => {
    for (const menu of document.querySelectorAll<HTMLElement>(MENU)) {
      if (seen.has(menu)) continue;
      seen.add(menu);
      // Popper places the menu after React renders it: measure once it has.
      requestAnimationFrame(() => requestAnimationFrame(() => bringIntoView(menu)));
    }
  });
  observer.observe(document.body, { childList: true, subtree: true });
  return () => observer.disconnect();
}
