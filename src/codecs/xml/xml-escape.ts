/**
 * Characters XML 1.0 cannot carry at all (C0 controls other than tab, LF and CR, lone surrogates,
 * U+FFFE/U+FFFF). A writer replaces them with U+FFFD: a document with them would be refused by
 * every reader, including Ferry's own.
 */
const NOT_XML =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r]/;
const TEXT_SPECIAL = /[&<>\r]/;

/**
 * An attribute value, escaped. Tab, LF and CR become character references, so attribute-value
 * normalisation in the reader gives them back unchanged.
 */
export function escapeXmlAttribute(text: string): string {
  const clean = text.replace(NOT_XML, '\ufffd');
  if (!ATTRIBUTE_SPECIAL.test(clean)) return clean;
  return clean
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll('\t', '&#9;')
    .replaceAll('\n', '&#10;')
    .replaceAll('\r', '&#13;');
}

/** Element text, escaped; CR becomes a reference so line-end normalisation keeps it. */
export function escapeXmlText(text: string): string {
  const clean = text.replace(NOT_XML, '\ufffd');
  if (!TEXT_SPECIAL.test(clean)) return clean;
  return clean
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\r', '&#13;');
}
