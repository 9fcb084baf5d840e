import { DEFAULT_HOOK_TIMEOUT_MS, type AfterHook } from '../hooks.ts';

/**
 * Records which injected sources the answer cites as `[n]`: `annotations.citations` lists the
 * cited document ids in order of first citation, `annotations.invalid_citations` numbers that
 * name no injected source (a sign of an invented reference).
 */
export function annotateCitationsHook(): AfterHook {
  return {
    name: 'annotate-citations',
    phase: 'after',
    timeoutMs: DEFAULT_HOOK_TIMEOUT_MS,
    run(state) {
      const cited: string[] = [];
      const invalid: number[] = [];
      for (const m of state.completion.text.matchAll(/\[(\d{1,4})\]/g)) {
        const n = Number(m[1]);
        const doc = state.documents[n - 1];
        if (doc === undefined) {
          if (!invalid.includes(n)) invalid.push(n);
        } else if (!cited.includes(doc.id)) {
          cited.push(doc.id);
        }
      }
      state.annotations.citations = cited;
      if (invalid.length > 0) state.annotations.invalid_citations = invalid;
    },
  };
}
