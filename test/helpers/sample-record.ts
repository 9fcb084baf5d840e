import { v7 as uuidv7 } from 'uuid';
import type { CallRecord } from '../../gateway/calls/record.ts';

/** A realistic finished call record, for tests and the writer benchmark. */
export function sampleRecord(overrides: Partial<CallRecord> = {}, at: Date = new Date()): CallRecord {
  const id = overrides.id ?? uuidv7({ msecs: at.getTime() });
  return {
    id,
    requestId: `req_${id.slice(-12)}`,
    traceId: null,
    startedAt: at,
    endpoint: 'chat.completions',
    apiKeyId: '0190a0f0-0000-7000-8000-000000000001',
    route: 'support-bot',
    variant: 'control',
    shadow: false,
    parentCallId: null,
    provider: 'openai',
    model: 'gpt-4o-mini',
    promptName: 'support',
    promptVersion: 3,
    stream: false,
    status: 'ok',
    httpStatus: 200,
    errorCode: null,
    errorMessage: null,
    attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 200, error: null, latencyMs: 412.5 }],
    latencyMs: 415.25,
    ttftMs: null,
    overheadMs: 0.42,
    usage: { inputTokens: 120, outputTokens: 48, cachedInputTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 },
    costMicros: 46.8,
    costSavedMicros: null,
    retrievalMs: null,
    rag: null,
    assignment: null,
    fallbackUsed: false,
    costStatus: 'exact',
    cacheStatus: 'miss',
    user: 'user-42',
    metadata: { team: 'support' },
    retrievedDocIds: null,
    requestBody: {
      model: 'support-bot',
      messages: [
        { role: 'system', content: 'You are a helpful support assistant.' },
        { role: 'user', content: 'How do I reset my password?' },
      ],
    },
    responseBody: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Open Settings → Security and choose "Reset password".' },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 120, completion_tokens: 48, total_tokens: 168 },
    },
    faceRequest: null,
    ...overrides,
  };
}

/**
 * A finished record whose row fields are all set and, where the types allow, all distinct (no
 * NULL, no two numbers alike): a field read from or written to its neighbour's place shows.
 */
export function everyFieldRecord(at: Date = new Date()): CallRecord {
  return sampleRecord(
    {
      traceId: 'c'.repeat(32),
      parentCallId: '0190a0f0-0000-7000-8000-0000000000aa',
      assignment: 0.625,
      shadow: true,
      stream: true,
      status: 'upstream_error',
      httpStatus: 502,
      errorCode: 'upstream_error',
      errorMessage: 'bad gateway',
      ttftMs: 7.5,
      overheadMs: 0.75,
      retrievalMs: 3.25,
      costMicros: 46.8,
      costSavedMicros: 9.5,
      fallbackUsed: true,
      cacheStatus: 'hit',
      retrievedDocIds: ['d1', 'd"2'],
      metadata: { team: 't' },
      rag: { query: 'q' },
      faceRequest: { system: 's' },
      usage: { inputTokens: 11, outputTokens: 12, cachedInputTokens: 13, cacheWriteTokens: 14, reasoningTokens: 15 },
    },
    at,
  );
}
