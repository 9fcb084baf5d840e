import { describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { toCallRow } from './call-row.ts';
import { compilePayloadPolicy } from './payloads.ts';
import { FIELD_INDEX, readRowLine, readsRowFormat, ROW_FIELDS, ROW_FORMAT, rowFileTag, rowId, rowObject } from './row-fields.ts';
import { segmentName } from './wal-files.ts';

const policy = compilePayloadPolicy({ enabled: true, maxBytes: 4096, redactFields: [], redactPatterns: [] });

describe('row lines', () => {
  it('reads the id from the start of a row, this version’s or an earlier one’s once read back', () => {
    const r = sampleRecord();
    expect(rowId(toCallRow(r, policy, 0))).toBe(r.id);
    expect(rowId(readRowLine(`{"id":"${r.id}","status":"ok"}`)!)).toBe(r.id);
  });

  it('takes a whole row as it is and refuses a torn or foreign line', () => {
    const row = toCallRow(sampleRecord(), policy, 0);
    expect(readRowLine(row)).toBe(row);
    expect(readRowLine(row.slice(0, -1))).toBeNull();
    expect(readRowLine(row.slice(0, 200))).toBeNull();
    expect(readRowLine('[1,2')).toBeNull();
    expect(readRowLine('"just a string"')).toBeNull();
    expect(readRowLine('')).toBeNull();
  });

  it("converts an earlier version's object row to the same row this version writes", () => {
    for (const enabled of [true, false]) {
      const p = compilePayloadPolicy({ enabled, maxBytes: 4096, redactFields: [], redactPatterns: [] });
      const r = sampleRecord({ metadata: JSON.parse('{"__proto__":"p","team":"x"}') as Record<string, string> });
      const row = toCallRow(r, p, 0);
      const legacy = JSON.stringify(rowObject(row));
      expect(legacy.startsWith(`{"id":"${r.id}"`)).toBe(true);
      const values = JSON.parse(row) as unknown[];
      expect(values).toHaveLength(enabled ? ROW_FIELDS.length : FIELD_INDEX.has_payload);
      // Fields a row without bodies lacks come back as nulls, which the insert reads the same.
      expect(JSON.parse(readRowLine(legacy)!)).toEqual([...values, ...Array(ROW_FIELDS.length - values.length).fill(null)]);
    }
  });

  it('is format 2: a change to the fields needs a new ROW_FORMAT (files on disk name the format they hold)', () => {
    // Rows already on disk are read by position: reordering, adding or removing a field reads
    // them wrong unless the format number changes with it (and readRowLine learns the old one).
    expect({ format: ROW_FORMAT, fields: ROW_FIELDS.map(([name]) => name).join(' ') }).toEqual({
      format: 2,
      fields: FORMAT_2_FIELDS,
    });
    expect(readsRowFormat(undefined)).toBe(true);
    expect(readsRowFormat('2')).toBe(true);
    expect(readsRowFormat('3')).toBe(false);
  });

  it("tagged file names are not taken by an earlier version's patterns (so a downgrade leaves them on disk)", () => {
    // The patterns of 1595c06 and before, which read every row as this version's or a torn line.
    const earlierSpool = /^calls-(\d+)-(\d+)-(\d+)\.jsonl(\.open)?$/;
    const earlierWal = /^wal-(\d+)-(\d+)-(\d+)\.log$/;
    expect(rowFileTag).toBe('.r2');
    expect(earlierWal.test(segmentName(1, 2, 3))).toBe(false);
    expect(earlierWal.test('wal-1-3-2.log')).toBe(true);
    expect(earlierSpool.test(`calls-1-3-2${rowFileTag}.jsonl`)).toBe(false);
    expect(earlierSpool.test(`calls-1-3-2${rowFileTag}.jsonl.open`)).toBe(false);
  });
});

const FORMAT_2_FIELDS =
  'id request_id started_at endpoint api_key_id route variant assignment shadow parent_call_id provider model prompt_name prompt_version ' +
  'stream user metadata retrieved_doc_ids retrieval_ms trace_id status http_status error_code error_message attempts latency_ms ttft_ms ' +
  'overhead_ms input_tokens output_tokens cached_tokens cache_write_tokens reasoning_tokens cost_micros cost_status cost_saved_micros ' +
  'fallback_used cache_status has_payload truncated request response rag face_request';
