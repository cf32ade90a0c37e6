import { createTransport } from 'nodemailer';

/** How Ferry talks to the SMTP server (FERRY_SMTP_TLS). */
export const SMTP_TLS_MODES = ['starttls', 'required', 'implicit', 'off'] as const;
export type SmtpTlsMode = (typeof SMTP_TLS_MODES)[number];

/** Mail settings, from the environment (docs/jobs.md, "When an export is ready"). */
export interface MailConfig {
  /** FERRY_SMTP_HOST; without it Ferry sends no email. */
  host: string;
  /** FERRY_SMTP_PORT; default 465 with implicit TLS, else 587. */
  port: number;
  /**
   * FERRY_SMTP_TLS: `starttls` (default: upgrade when the server offers STARTTLS), `required`
   * (refuse to send unless STARTTLS succeeds), `implicit` (TLS from the first byte, port 465),
   * `off` (plain text; a relay on the same host).
   */
  tls: SmtpTlsMode;
  /** FERRY_SMTP_USER and FERRY_SMTP_PASSWORD, when the server wants a sign-in. */
  user?: string;
  password?: string;
  /** FERRY_SMTP_FROM: the sender, e.g. `Ferry <ferry@example.org>`; default `ferry@localhost`. */
  from: string;
}

/** Seconds Ferry waits on the SMTP server at each step, so a dead server never holds a worker long. */
const SMTP_TIMEOUT_MS = 30_000;

/** The mail settings, or undefined when FERRY_SMTP_HOST is not set (no email then). */
export function loadMailConfig(env: NodeJS.ProcessEnv = process.env): MailConfig | undefined {
  const host = env.FERRY_SMTP_HOST?.trim();
  if (!host) return undefined;
  const tls = (env.FERRY_SMTP_TLS?.trim() || 'starttls') as SmtpTlsMode;
  if (!SMTP_TLS_MODES.includes(tls))
    throw new Error(`FERRY_SMTP_TLS must be one of ${SMTP_TLS_MODES.join(', ')}, not '${tls}'`);
  const portText = env.FERRY_SMTP_PORT?.trim();
  const port = portText ? Number(portText) : tls === 'implicit' ? 465 : 587;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`FERRY_SMTP_PORT must be a port number, not '${portText}'`);
  const user = env.FERRY_SMTP_USER || undefined;
  return {
    host,
    port,
    tls,
    ...(user ? { user, password: env.FERRY_SMTP_PASSWORD ?? '' } : {}),
    from: env.FERRY_SMTP_FROM?.trim() || 'ferry@localhost',
  };
}

/**
 * The address links in emails start with (FERRY_PUBLIC_URL, e.g. `https://ferry.example.org`),
 * without a trailing slash; by default `http://localhost:<port>`, right only on the server itself.
 */
export function publicBaseUrl(env: NodeJS.ProcessEnv, port: number): string {
  const raw = env.FERRY_PUBLIC_URL?.trim();
  if (!raw) return `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`FERRY_PUBLIC_URL must be an http(s) address, not '${raw}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`FERRY_PUBLIC_URL must be an http(s) address, not '${raw}'`);
  return url.href.replace(/\/+$/, '');
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends one email; rejects when the server refuses it or cannot be reached. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** A mailer over SMTP (nodemailer): a new connection for each message, none kept open. */
export function createSmtpMailer(config: MailConfig): Mailer {
  const transport = createTransport({
    host: config.host,
    port: config.port,
    secure: config.tls === 'implicit',
    requireTLS: config.tls === 'required',
    ignoreTLS: config.tls === 'off',
    ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  return {
    async send(message) {
      await transport.sendMail({
        from: config.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
    close() {
      transport.close();
    },
  };
}
