import { describe, expect, it } from 'vitest';
import { addDays, CHINA_OFFSET_MINUTES, datesInRange, daysBetween, isValidDate, localDate, localDateTime, localMidnightUtc, parseInstant, toUtcIso, utcOffsetLabel } from '#shared/rules/index.ts';

describe('parseInstant accepts strict ISO-8601 instants with an offset', () => {
  it.each([
    ['2023-12-01T00:00:00+08:00', Date.UTC(2023, 10, 30, 16)],
    ['2023-12-01T00:00+08:00', Date.UTC(2023, 10, 30, 16)],
    ['2023-11-30T16:00:00Z', Date.UTC(2023, 10, 30, 16)],
    ['2023-11-30T16:00:00.000Z', Date.UTC(2023, 10, 30, 16)],
    ['2023-11-30T23:59:59.999+08:00', Date.UTC(2023, 10, 30, 15, 59, 59, 999)],
    ['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
    ['2024-02-29T00:00:00+08:00', Date.UTC(2024, 1, 28, 16)],
    ['2024-03-01T00:00:00-05:30', Date.UTC(2024, 2, 1, 5, 30)],
    ['2024-01-01T00:00:00+14:00', Date.UTC(2023, 11, 31, 10)],
    ['2024-01-01T00:00:00-14:00', Date.UTC(2024, 0, 1, 14)],
    ['2024-01-01T00:00:00-00:00', Date.UTC(2024, 0, 1)],
    ['2024-01-01T00:00:00.5Z', Date.UTC(2024, 0, 1, 0, 0, 0, 500)],
    ['2024-01-01T00:00:00.12Z', Date.UTC(2024, 0, 1, 0, 0, 0, 120)],
    ['2024-01-01T00:00:00.123456789Z', Date.UTC(2024, 0, 1, 0, 0, 0, 123)],
    ['2024-01-01T23:59:59Z', Date.UTC(2024, 0, 1, 23, 59, 59)],
    ['2023-12-31T23:59:59.999-01:00', Date.UTC(2024, 0, 1, 0, 59, 59, 999)],
  ])('%s', (input, expected) => {
    expect(parseInstant(input)).toBe(expected);
  });
});

describe('parseInstant rejects everything else', () => {
  it.each([
    ['no offset (ambiguous)', '2023-12-01T00:00:00'],
    ['no offset, no seconds', '2023-12-01T00:00'],
    ['date only', '2023-12-01'],
    ['2023-02-29 does not exist', '2023-02-29T00:00:00Z'],
    ['2023-11-31 does not exist', '2023-11-31T00:00:00+08:00'],
    ['month 13', '2023-13-01T00:00:00Z'],
    ['month 00', '2023-00-10T00:00:00Z'],
    ['day 00', '2023-12-00T00:00:00Z'],
    ['hour 24', '2023-12-01T24:00:00Z'],
    ['hour 25', '2023-12-01T25:00:00+08:00'],
    ['minute 60', '2023-12-01T10:60:00Z'],
    ['second 60', '2023-12-31T23:59:60Z'],
    ['offset +14:01', '2024-01-01T00:00:00+14:01'],
    ['offset -15:00', '2024-01-01T00:00:00-15:00'],
    ['offset minute 60', '2024-01-01T00:00:00+08:60'],
    ['offset without colon', '2024-01-01T00:00:00+0800'],
    ['offset hours only', '2024-01-01T00:00:00+08'],
    ['lowercase z', '2024-01-01T00:00:00z'],
    ['lowercase t', '2024-01-01t00:00:00Z'],
    ['space separator', '2024-01-01 00:00:00Z'],
    ['fraction without seconds', '2024-01-01T00:00.5Z'],
    ['dot without digits', '2024-01-01T00:00:00.Z'],
    ['fraction beyond nanoseconds', '2024-01-01T00:00:00.1234567890Z'],
    ['two-digit year', '24-01-01T00:00:00Z'],
    ['expanded year', '+002024-01-01T00:00:00Z'],
    ['single-digit month', '2024-1-01T00:00:00Z'],
    ['leading space', ' 2024-01-01T00:00:00Z'],
    ['trailing newline', '2024-01-01T00:00:00Z\n'],
    ['empty', ''],
    ['garbage', 'next tuesday'],
    ['epoch number as text', '1701360000000'],
  ])('%s: %j', (_name, input) => {
    expect(parseInstant(input)).toBeUndefined();
  });
});

describe('calendar helpers', () => {
  it('toUtcIso renders milliseconds and Z', () => {
    expect(toUtcIso(Date.UTC(2023, 10, 30, 16))).toBe('2023-11-30T16:00:00.000Z');
  });

  it('localDate reads an instant in CST: 16:00Z is already the next day', () => {
    expect(localDate(Date.UTC(2023, 10, 30, 15, 59, 59, 999), CHINA_OFFSET_MINUTES)).toBe('2023-11-30');
    expect(localDate(Date.UTC(2023, 10, 30, 16), CHINA_OFFSET_MINUTES)).toBe('2023-12-01');
    expect(localDate(Date.UTC(2024, 0, 1, 3), -300)).toBe('2023-12-31');
  });

  it('localMidnightUtc is the instant the local day begins', () => {
    expect(localMidnightUtc('2023-12-01', CHINA_OFFSET_MINUTES)).toBe(Date.UTC(2023, 10, 30, 16));
    expect(localMidnightUtc('2024-03-01', CHINA_OFFSET_MINUTES)).toBe(Date.UTC(2024, 1, 29, 16));
    expect(localMidnightUtc('2024-03-01', 0)).toBe(Date.UTC(2024, 2, 1));
    expect(() => localMidnightUtc('2023-02-29', CHINA_OFFSET_MINUTES)).toThrow(RangeError);
  });

  it('addDays crosses month, leap day and year ends', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2024-02-29', 1)).toBe('2024-03-01');
    expect(addDays('2023-12-31', 1)).toBe('2024-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addDays('2024-03-01', 90)).toBe('2024-05-30');
    expect(() => addDays('2024-03-01', 1.5)).toThrow(RangeError);
    expect(() => addDays('2024-3-1', 1)).toThrow(/date/);
  });

  it('daysBetween counts calendar days, signed', () => {
    expect(daysBetween('2023-12-01', '2024-03-01')).toBe(91);
    expect(daysBetween('2023-03-01', '2023-12-01')).toBe(275);
    expect(daysBetween('2024-03-01', '2023-12-01')).toBe(-91);
    expect(daysBetween('2024-01-01', '2024-01-01')).toBe(0);
  });

  it('datesInRange is half-open and empty when reversed', () => {
    expect(datesInRange('2024-02-27', '2024-03-02')).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
    expect(datesInRange('2024-01-01', '2024-01-01')).toEqual([]);
    expect(datesInRange('2024-01-02', '2024-01-01')).toEqual([]);
  });

  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2000-02-29', true],
    ['1900-02-29', false],
    ['2023-11-31', false],
    ['2023-12-31', true],
    ['2023-12-32', false],
    ['0099-01-01', true],
    ['2023-12-1', false],
    ['2023-12-01T00:00Z', false],
  ])('isValidDate(%s) = %s', (date, valid) => {
    expect(isValidDate(date)).toBe(valid);
  });
});

describe('time for people: the local minute and the offset in words', () => {
  it('shows an instant as its China date and minute, crossing midnight and the leap day', () => {
    expect(localDateTime(Date.UTC(2024, 1, 29, 16, 30), CHINA_OFFSET_MINUTES)).toBe('2024-03-01 00:30');
    expect(localDateTime(Date.UTC(2024, 1, 28, 16, 0), CHINA_OFFSET_MINUTES)).toBe('2024-02-29 00:00');
    expect(localDateTime(Date.UTC(2024, 2, 1, 2, 0, 59, 999), CHINA_OFFSET_MINUTES)).toBe('2024-03-01 10:00');
    expect(localDateTime(Date.UTC(2024, 0, 1, 0, 0), -330)).toBe('2023-12-31 18:30');
  });

  it.each([
    [480, 'UTC+8'],
    [0, 'UTC+0'],
    [330, 'UTC+5:30'],
    [345, 'UTC+5:45'],
    [-210, 'UTC-3:30'],
    [-600, 'UTC-10'],
    [840, 'UTC+14'],
  ])('names the offset %d minutes %s', (minutes, label) => {
    expect(utcOffsetLabel(minutes)).toBe(label);
  });
});
