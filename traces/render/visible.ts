// Text taken from a trace reaches terminals and viewers: a control character could move the
// cursor, clear the screen or set the window title (ESC sequences), and a bidirectional override
// could make a line read differently than it is. Each is shown as its \u escape instead.

/** C0 controls but newline and tab, DEL, C1 controls, the bidi embeddings/overrides/isolates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
