/** The kinds of one page (data values, metadata), as links; the current one marked for screen readers. */
export function SubNav({
  label,
  links,
}: {
  label: string;
  links: { href: string; label: string; current: boolean }[];
}) {
  if (links.length < 2) return null;
  return (
    <nav className="chips sub-nav" aria-label={label}>
      {links.map((link) => (
        <a key={link.href} href={link.href} aria-current={link.current ? 'page' : undefined}>
          {link.label}
        </a>
      ))}
    </nav>
  );
}
