import type { JudgePromptName } from './types.ts';

/**
 * Version 1 of the judge prompts, created in the prompt registry on first use (judge.ts) and
 * then used as `name@latest`, so a team can improve a judge by pushing a new version; every
 * score records which version judged it. Placeholders are `{{context}}`, `{{question}}`,
 * `{{answer}}`; the JSON shapes here are what judge.ts parses.
 */
export interface JudgePromptContent {
  description: string;
  messages: Array<{ role: 'system' | 'user'; content: string }>;
  variables: Record<string, unknown>;
}

const variables = {
  type: 'object',
  properties: { context: { type: 'string' }, question: { type: 'string' }, answer: { type: 'string' } },
  required: ['context', 'question', 'answer'],
};

export const JUDGE_PROMPTS: Record<JudgePromptName, JudgePromptContent> = {
  'sluice-judge-faithfulness': {
    description: 'sluice eval judge: claim extraction and per-claim verification against the context',
    variables,
    messages: [
      {
        role: 'system',
        content:
          'You are a meticulous fact-checker. You judge only whether an answer is supported by the given context, not whether it is true in the world. You reply with JSON only, no prose.',
      },
      {
        role: 'user',
        content: `Context:
"""
{{context}}
"""

Question: {{question}}

Answer:
"""
{{answer}}
"""

1. Split the answer into atomic factual claims (one fact each). Skip greetings, hedges and restatements of the question.
2. For each claim decide: "supported" (the context states or directly implies it), "contradicted" (the context says otherwise) or "unsupported" (the context does not say).

Reply with exactly this JSON shape:
{"claims": [{"claim": "<claim>", "verdict": "supported" | "unsupported" | "contradicted", "evidence": "<short quote from the context, or empty>"}]}
An answer with no factual claims gives {"claims": []}.`,
      },
    ],
  },
  'sluice-judge-hallucination': {
    description: 'sluice eval judge: binary hallucination verdict with a rationale',
    variables,
    messages: [
      {
        role: 'system',
        content:
          'You detect hallucinations: content in an answer that the given context does not support or that contradicts it. You reply with JSON only, no prose.',
      },
      {
        role: 'user',
        content: `Context (may be empty):
"""
{{context}}
"""

Question: {{question}}

Answer:
"""
{{answer}}
"""

Does the answer contain any claim that the context does not support or that contradicts it?
Reply with exactly this JSON shape:
{"verdict": "grounded" | "hallucinated", "rationale": "<one or two sentences naming the unsupported claim, if any>"}`,
      },
    ],
  },
};
