/** DHIS2's WebMessage: the envelope of every error and import reply. */
export interface WebMessage {
  httpStatus: string;
  httpStatusCode: number;
  status: 'OK' | 'WARNING' | 'ERROR';
  message?: string;
  errorCode?: string;
  response?: unknown;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function webMessage(
  httpStatusCode: number,
  status: WebMessage['status'],
  message?: string,
  extra: Partial<WebMessage> = {},
): WebMessage {
  return {
    httpStatus: REASONS[httpStatusCode] ?? String(httpStatusCode),
    httpStatusCode,
    status,
    ...(message !== undefined ? { message } : {}),
    ...extra,
  };
}
