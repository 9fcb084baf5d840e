/**
 * Allow-list globs (DESIGN §4.4): `*` matches any run of characters (slashes included, so
 * `openai/*` covers every OpenAI model), everything else is literal. Matched with the greedy
 * two-pointer algorithm, O(glob × value) at worst and without a RegExp, so no admin-written glob
 * can make a match backtrack for long (globs and model names are both bounded).
 */
export function globMatches(glob: string, value: string): boolean {
  let g = 0;
  let v = 0;
  let star = -1;
  let mark = 0;
  while (v < value.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === value[v]) {
      g++;
      v++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = v;
    } else if (star !== -1) {
      g = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** True when `globs` is null (no list: everything) or one of them matches one of `values`. */
export function allowedBy(globs: readonly string[] | null, ...values: ReadonlyArray<string | null | undefined>): boolean {
  if (globs === null) return true;
  for (const glob of globs) {
    for (const value of values) if (value != null && globMatches(glob, value)) return true;
  }
  return false;
}
