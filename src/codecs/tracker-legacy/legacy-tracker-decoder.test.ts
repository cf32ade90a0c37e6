import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../input/input-error.ts';
import type { RawObject } from '../../domain/tracker/tracker-objects.ts';
import {
  readLegacyTracker,
  type LegacyTrackerFormat,
  type LegacyTrackerItem,
} from './legacy-tracker-decoder.ts';
import { currentEventToLegacy } from './legacy-tracker-objects.ts';
import {
  LEGACY_EVENT_CSV_HEADER,
  LEGACY_EVENTS_XML_END,
  LEGACY_EVENTS_XML_START,
  legacyEventCsvLines,
  legacyEventsXml,
} from './legacy-event-encoder.ts';

/** The text in pieces of `size` characters: items and rows split across chunks must still read. */
async function* pieces(text: string, size = 7): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function read(
  text: string,
  format: LegacyTrackerFormat,
  root: LegacyTrackerItem['collection'] = 'events',
): Promise<LegacyTrackerItem[]> {
  const out: LegacyTrackerItem[] = [];
  for await (const batch of readLegacyTracker(pieces(text), 'file.x', format, root)) out.push(...batch);
  return out;
}

describe('legacy tracker decoder', () => {
  it('maps an older event to the current names (JSON)', async () => {
    const [item] = await read(
      JSON.stringify({
        events: [
          {
            event: 'EvA00000001',
            trackedEntityInstance: 'TeA00000001',
            eventDate: '2019-01-28',
            dueDate: '2019-01-20',
            completedDate: '2019-01-29',
            followup: true,
            lastUpdatedAtClient: '2019-01-30',
            coordinate: { latitude: 8.5, longitude: -11.5 },
            storedBy: 'someone',
            dataValues: [{ dataElement: 'De000000001', value: 12.5 }],
            notes: [{ value: 'seen', storedDate: '2019-01-28' }],
          },
        ],
      }).replace('12.5', '12.50'),
      'json',
    );
    assert.equal(item.collection, 'events');
    assert.deepEqual(item.value, {
      event: 'EvA00000001',
      trackedEntity: 'TeA00000001',
      occurredAt: '2019-01-28',
      scheduledAt: '2019-01-20',
      completedAt: '2019-01-29',
      followUp: true,
      updatedAtClient: '2019-01-30',
      geometry: { type: 'Point', coordinates: [-11.5, 8.5] },
      dataValues: [{ dataElement: 'De000000001', value: '12.50' }],
      notes: [{ value: 'seen', storedAt: '2019-01-28' }],
    });
  });

  it('maps a tracked entity instance with enrollments, events and relationship ends', async () => {
    const [item] = await read(
      JSON.stringify({
        trackedEntityInstances: [
          {
            trackedEntityInstance: 'TeA00000001',
            featureType: 'POINT',
            coordinates: '[1, 2]',
            enrollments: [
              { enrollmentDate: '2019-01-01', incidentDate: '2018-12-30', events: [{ eventDate: 'd' }] },
            ],
            relationships: [
              {
                from: { trackedEntityInstance: { trackedEntityInstance: 'TeA00000001' } },
                to: { event: { event: 'EvA00000001' } },
              },
            ],
          },
        ],
      }),
      'json',
      'trackedEntities',
    );
    assert.equal(item.collection, 'trackedEntities');
    const value = item.value as RawObject & { enrollments: RawObject[]; relationships: RawObject[] };
    assert.equal(value.trackedEntity, 'TeA00000001');
    assert.deepEqual(value.geometry, { type: 'Point', coordinates: [1, 2] });
    assert.deepEqual(value.enrollments[0], {
      enrolledAt: '2019-01-01',
      occurredAt: '2018-12-30',
      events: [{ occurredAt: 'd', dataValues: [] }],
    });
    assert.deepEqual(value.relationships[0], {
      from: { trackedEntity: { trackedEntity: 'TeA00000001' } },
      to: { event: { event: 'EvA00000001' } },
    });
  });

  it('reads one event or one instance posted alone, as 2.40 took them, and nothing from an empty list', async () => {
    const [event] = await read(
      '{"event": "EvA00000001", "eventDate": "2019-01-01", "dataValues": [{"dataElement": "De000000001", "value": 1}], "notes": []}',
      'json',
    );
    assert.deepEqual(event, {
      collection: 'events',
      line: 1,
      value: {
        event: 'EvA00000001',
        occurredAt: '2019-01-01',
        dataValues: [{ dataElement: 'De000000001', value: '1' }],
      },
    });
    const [instance] = await read(
      '{"trackedEntityInstance": "TeA00000001", "trackedEntityType": "Tt000000001"}',
      'json',
    );
    assert.equal(instance.collection, 'trackedEntities');
    assert.equal(instance.value.trackedEntity, 'TeA00000001');
    assert.deepEqual(await read('{"pager": {"page": 1}, "events": []}', 'json'), []);
    assert.deepEqual(
      (await read('{"program": "Pr000000001", "events": [{"event": "EvA00000009"}]}', 'json')).map(
        (i) => i.value.event,
      ),
      ['EvA00000009'],
      'a file with a list is read as the list',
    );
  });

  it('reads XML events with fields as attributes or elements, and refuses a prototype name', async () => {
    const items = await read(
      '<events xmlns="http://dhis2.org/schema/dxf/2.0"><event event="EvA00000001" eventDate="2019-01-01">' +
        '<coordinate latitude="1" longitude="2"/><dataValues><dataValue dataElement="De000000001" value="3"/></dataValues></event>' +
        '<event><event>EvA00000002</event><dueDate>2019-02-02</dueDate><geometry>{"type":"Point","coordinates":[4,5]}</geometry></event></events>',
      'xml',
    );
    assert.deepEqual(
      items.map((i) => i.value),
      [
        {
          event: 'EvA00000001',
          occurredAt: '2019-01-01',
          geometry: { type: 'Point', coordinates: [2, 1] },
          dataValues: [{ dataElement: 'De000000001', value: '3' }],
        },
        {
          event: 'EvA00000002',
          scheduledAt: '2019-02-02',
          geometry: { type: 'Point', coordinates: [4, 5] },
          dataValues: [],
        },
      ],
    );
    await assert.rejects(read('<events><event><__proto__>x</__proto__></event></events>', 'xml'), InputError);
    await assert.rejects(read('<events><enrollment/></events>', 'xml'), /unexpected element <enrollment>/);
  });

  it('names the line of an item that is not an object and of bad geometry text', async () => {
    await assert.rejects(read('{"events": [\n1]}', 'json'), /file\.x \(line 2\).*must be objects/);
    await assert.rejects(read('{"events": [\n{"geometry": "{nope"}]}', 'json'), /line 2.*geometry/);
  });

  it('writes events that read back the same (XML and 2.40 CSV)', async () => {
    const current = {
      event: 'EvA00000001',
      status: 'COMPLETED',
      program: 'Pr000000001',
      programStage: 'Ps000000001',
      enrollment: 'En000000001',
      trackedEntity: 'TeA00000001',
      orgUnit: 'Ou000000001',
      occurredAt: '2019-01-28',
      scheduledAt: '2019-01-20',
      completedAt: '2019-01-28',
      completedBy: 'a, "quoted" name',
      geometry: { type: 'Point', coordinates: [-11.5, 8.5] },
      dataValues: [
        { dataElement: 'De000000001', value: '=1+2', providedElsewhere: false },
        { dataElement: 'De000000002', value: 'line\nbreak & <tag>', providedElsewhere: true },
      ],
    };
    const legacy = currentEventToLegacy(current);
    const expected = {
      event: 'EvA00000001',
      status: 'COMPLETED',
      program: 'Pr000000001',
      programStage: 'Ps000000001',
      enrollment: 'En000000001',
      orgUnit: 'Ou000000001',
      occurredAt: '2019-01-28',
      scheduledAt: '2019-01-20',
      completedAt: '2019-01-28',
      completedBy: 'a, "quoted" name',
      geometry: { type: 'Point', coordinates: [-11.5, 8.5] },
    };
    const [fromXml] = await read(
      LEGACY_EVENTS_XML_START + legacyEventsXml([legacy]) + LEGACY_EVENTS_XML_END,
      'xml',
    );
    assert.deepEqual(fromXml.value, {
      ...expected,
      trackedEntity: 'TeA00000001',
      dataValues: [
        { dataElement: 'De000000001', value: '=1+2', providedElsewhere: 'false' },
        { dataElement: 'De000000002', value: 'line\nbreak & <tag>', providedElsewhere: 'true' },
      ],
    });
    const [fromCsv] = await read(LEGACY_EVENT_CSV_HEADER + legacyEventCsvLines([legacy]), 'csv');
    assert.deepEqual(fromCsv.value, {
      ...expected,
      dataValues: [
        { dataElement: 'De000000001', value: '=1+2', providedElsewhere: 'false' },
        { dataElement: 'De000000002', value: 'line\nbreak & <tag>', providedElsewhere: 'true' },
      ],
    });
    assert.match(legacyEventCsvLines([legacy], { escapeFormulas: true }), /,'=1\+2,/);
  });
});
