/** Shortest password accepted (OWASP ASVS 2.1.1 asks for at least 8; DHIS2 uses 8 too). */
export const MIN_PASSWORD_LENGTH = 8;
/**
 * Longest password accepted. Long passphrases are welcome; the bound stops a client from making the
 * server hash megabytes of input per login attempt.
 */
export const MAX_PASSWORD_LENGTH = 256;

/** Why a password is refused, as sentences for the user; empty when it is acceptable. */
export function passwordPolicyViolations(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) {
    problems.push(`Password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    problems.push(`Password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  }
  if (username.length > 0 && password.toLowerCase() === username.toLowerCase()) {
    problems.push('Password must not be the same as the username');
  }
  return problems;
}
