/** How many times a header was sent. Node joins or drops repeated headers, so only the raw list tells. */
export function headerCount(rawHeaders: string[], name: string): number {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) seen++;
  return seen;
}
