import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatFinalEval,
  formatFinalLoss,
  formatJsonValue,
  formatMetric,
  formatTimestamp,
  problemText,
  shortHash,
  statusLabel,
  statusReason,
} from '../../../src/renderer/format';

describe('formatMetric', () => {
  it('gives four significant digits', () => {
    expect(formatMetric(0.123456)).toBe('0.1235');
    expect(formatMetric(12.3456)).toBe('12.35');
    expect(formatMetric(0.41)).toBe('0.41');
    expect(formatMetric(1234.5678)).toBe('1235');
  });
  it('keeps integers and uses exponents for the very small and large', () => {
    expect(formatMetric(100)).toBe('100');
    expect(formatMetric(0)).toBe('0');
    expect(formatMetric(0.000012346)).toBe('1.235e-5');
    expect(formatMetric(5e-7)).toBe('5e-7');
    expect(formatMetric(12345678.9)).toBe('1.235e+7');
  });
  it('shows NaN for null (NaN/Infinity in the file) and — for absent', () => {
    expect(formatMetric(null)).toBe('NaN');
    expect(formatMetric(Number.NaN)).toBe('NaN');
    expect(formatMetric(undefined)).toBe('—');
  });
});

describe('summary cells', () => {
  it('final loss: — without training steps or train/loss, NaN / ±Inf when not finite', () => {
    expect(formatFinalLoss({ total_steps: null, final_loss: null })).toBe('—');
    expect(formatFinalLoss({ total_steps: 5, final_loss: null })).toBe('—');
    expect(formatFinalLoss({ total_steps: 5, final_loss: null, final_loss_nonfinite: 'NaN' })).toBe('NaN');
    expect(formatFinalLoss({ total_steps: 5, final_loss: null, final_loss_nonfinite: 'Infinity' })).toBe(
      '+Inf',
    );
    expect(formatFinalLoss({ total_steps: 5, final_loss: null, final_loss_nonfinite: '-Infinity' })).toBe(
      '-Inf',
    );
    expect(formatFinalLoss({ total_steps: 5, final_loss: 0.25 })).toBe('0.25');
  });
  it('final eval: compact, in file order', () => {
    expect(formatFinalEval({ 'eval/loss': 0.41, 'eval/accuracy': 0.7312 })).toBe(
      'eval/loss 0.41 · eval/accuracy 0.7312',
    );
    expect(formatFinalEval({ 'eval/loss': null })).toBe('eval/loss NaN');
    expect(formatFinalEval(null)).toBe('—');
    expect(formatFinalEval({})).toBe('—');
  });
  it('status: inferred ends in ?', () => {
    expect(statusLabel({ state: 'completed', source: 'inferred' })).toBe('completed?');
    expect(statusLabel({ state: 'failed', source: 'failed-file' })).toBe('failed');
  });
  it('status reason: says "inferred" once', () => {
    expect(statusReason({ source: 'inferred', reason: 'inferred: logs written 6s ago' })).toBe(
      'inferred: logs written 6s ago',
    );
    expect(statusReason({ source: 'inferred', reason: 'checkpoints/final exists' })).toBe(
      'inferred: checkpoints/final exists',
    );
    expect(statusReason({ source: 'failed-file', reason: 'FAILED.txt: failed at step 3' })).toBe(
      'FAILED.txt: failed at step 3',
    );
  });
  it('timestamps, hashes, sizes, values, problems', () => {
    expect(formatTimestamp('2024-01-01T12:34:56.789')).toBe('2024-01-01 12:34');
    expect(formatTimestamp('yesterday')).toBe('yesterday');
    expect(formatTimestamp(null)).toBe('—');
    expect(shortHash('0123456789abcdef')).toBe('0123456');
    expect(shortHash(null)).toBe('—');
    expect(formatBytes(12)).toBe('12 B');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MiB');
    expect(formatJsonValue('<b>x</b>')).toBe('<b>x</b>');
    expect(formatJsonValue(3e-7)).toBe('3e-7');
    expect(formatJsonValue({ a: [1, true] })).toBe('{"a":[1,true]}');
    expect(problemText({ file: 'logs/metrics.jsonl', line: 3, message: 'bad JSON' })).toBe(
      'logs/metrics.jsonl:3: bad JSON',
    );
    expect(problemText({ file: 'config.yaml', line: 2, column: 5, message: 'dup' })).toBe(
      'config.yaml:2:5: dup',
    );
  });
});
