/**
 * The retrieved context of a logged call, from its stored payload. The RAG hooks (issue 8)
 * record what the model saw in `call_payloads.rag` (`injectedText`: the exact text added to the
 * prompt); that is the context. Calls logged without it (retrieval done by the client) may carry
 * their context in the request or response body under one of KEYS, as a string, an array of
 * strings, an array of `{text | content}` documents, or an object with such a field. Null when
 * none is there.
 */
const KEYS = ['sluice_rag', 'rag', 'retrieval', 'retrieved', 'retrieved_context', 'context'] as const;
const INNER = ['context', 'text', 'documents', 'docs', 'results', 'chunks', 'sources'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function textOf(value: unknown, depth = 0): string | null {
  if (typeof value === 'string') return value.trim() ? value : null;
  if (Array.isArray(value)) {
    const parts = value.map((v) => (isRecord(v) ? (textOf(v.text) ?? textOf(v.content) ?? textOf(v.page_content)) : textOf(v))).filter((p): p is string => p !== null);
    return parts.length ? parts.join('\n\n') : null;
  }
  if (isRecord(value) && depth < 2) {
    for (const k of INNER) {
      const t = textOf(value[k], depth + 1);
      if (t) return t;
    }
  }
  return null;
}

export function extractContext(rag: unknown, request: unknown, response: unknown): string | null {
  if (isRecord(rag) && typeof rag.injectedText === 'string' && rag.injectedText.trim()) return rag.injectedText;
  for (const body of [request, response]) {
    if (!isRecord(body)) continue;
    for (const k of KEYS) {
      const t = textOf(body[k]);
      if (t) return t;
    }
  }
  return null;
}

/** The assistant text of an OpenAI chat completion body, or null (tool calls, errors). */
export function completionText(response: unknown): string | null {
  if (!isRecord(response) || !Array.isArray(response.choices)) return null;
  const first = response.choices[0] as unknown;
  if (!isRecord(first) || !isRecord(first.message)) return null;
  const content = first.message.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return textOf(content);
  return null;
}
