// The raw HTTP client the GCE fake's own tests use: one request, its status and JSON body (Google's error shape or
// the resource), with nothing in between, so a test sees exactly what the fake answers.

/** A JSON answer: status and body, read field by field in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: response JSON is read field by field in assertions.
export type Answer = { status: number; body: Record<string, any> };

/** A caller against the fake at `url()` (read on every call: the fake starts in a `before`). */
export function gceCaller(url: () => string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${url()}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
}
