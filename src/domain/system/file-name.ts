/**
 * Characters a file name shown to people must not carry: C0 and C1 controls, and the invisible
 * formatting characters that change how text around them reads. U+202E (right-to-left override)
 * makes `invoice_fdp.exe` display as `invoice_exe.pdf`; zero-width and bidi isolate characters
 * hide or reorder parts of a name; line and paragraph separators break the line a name sits on.
 */
const UNSAFE_NAME_CHARACTERS =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/gu;

/** `name` without any character of `UNSAFE_NAME_CHARACTERS`. */
export function withoutUnsafeNameCharacters(name: string): string {
  return name.replace(UNSAFE_NAME_CHARACTERS, '');
}
