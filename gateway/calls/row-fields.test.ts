import { describe, expect, it } from 'vitest';
import { sampleRecord } from '../../test/helpers/sample-record.ts';
import { toCallRow } from './call-row.ts';
import { compilePayloadPolicy } from './payloads.ts';
import { FIELD_INDEX, readRowLine, ROW_FIELDS, rowId, rowObject } from './row-fields.ts';

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
});
