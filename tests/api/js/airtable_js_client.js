// Airtable's official JavaScript client (npm `airtable` 0.12.2), unchanged, against Gridbase.
//
// Run by tests/api/test_airtable_js.py:  node airtable_js_client.js PHASE
// with GRIDBASE_URL, GRIDBASE_TOKEN (admin), GRIDBASE_VIEWER_TOKEN (zhao) and NODE_PATH set.
// Each check that passes prints {"step": name, ...}; the first that fails prints the error
// and exits with status 1. PHASE "main" covers the client's public API; "ratelimit" covers
// its retry after a 429 (the server is then set to a low rate).
'use strict';

const assert = require('assert').strict;
const Airtable = require('airtable');

const url = process.env.GRIDBASE_URL;
const steps = [];

function pass(step, extra) {
  steps.push(step);
  process.stdout.write(JSON.stringify(Object.assign({ step: step }, extra || {})) + '\n');
}

async function rejects(promise, statusCode, type) {
  try {
    await promise;
  } catch (err) {
    assert.equal(err.statusCode, statusCode, `status of ${err.error}: ${err.message}`);
    if (type) assert.equal(err.error, type);
    return err;
  }
  throw new Error(`expected a ${statusCode} error`);
}

async function main() {
  Airtable.configure({ endpointUrl: url, apiKey: process.env.GRIDBASE_TOKEN, noRetryIfRateLimited: false });
  const base = Airtable.base('crm');
  const contacts = base('Contacts');
  const companies = base.table('Companies');

  // create: one record, then an array (both POST /v0/crm/Contacts/ with a trailing slash)
  const acme = await companies.create({ Title: 'Acme', City: 'Dalian' });
  assert.match(acme.getId(), /^rec/);
  assert.equal(acme.get('City'), 'Dalian');
  pass('create single');
  const made = await contacts.create([
    { fields: { Name: 'Ann', Age: 41, Status: 'Active', VIP: true, Tags: ['red'], Company: [acme.id] } },
    { fields: { Name: 'Bob', Age: 7, Status: 'New' } },
    { fields: { Name: 'Cat', Age: 19, Status: 'Active' } },
  ]);
  assert.deepEqual(made.map((r) => r.get('Name')), ['Ann', 'Bob', 'Cat']);
  assert.equal(made[1].get('VIP'), undefined, 'an unchecked box is left out');
  assert.equal(made[1].get('Tags'), undefined, 'an empty list is left out');
  assert.equal('Notes' in made[1].fields, false, 'an empty text is left out');
  pass('create array');

  // typecast: text to a number, a case-folded option, a person by name
  const typed = await contacts.create({ Name: 'Dan', Age: '1,234', Status: 'closed', Owner: '李四' }, { typecast: true });
  assert.equal(typed.get('Age'), 1234);
  assert.equal(typed.get('Status'), 'Closed');
  assert.equal(typed.get('Owner').id, 'li');
  const typedMany = await contacts.create([{ fields: { Name: 'Eve', VIP: '是' } }], { typecast: true });
  assert.equal(typedMany[0].get('VIP'), true);
  await rejects(contacts.create({ Name: 'Fay', Age: 'many' }), 422, 'INVALID_VALUE_FOR_COLUMN');
  pass('typecast');

  // find
  const found = await contacts.find(made[0].id);
  assert.equal(found.get('Name'), 'Ann');
  assert.deepEqual(found.get('Company'), [acme.id]);
  assert.equal(found.get('Company City')[0], 'Dalian');
  pass('find');

  // select: firstPage, eachPage, all; sort, fields, filterByFormula, maxRecords, pageSize, view, cellFormat
  const first = await contacts.select({ sort: [{ field: 'Age', direction: 'desc' }], fields: ['Name', 'Age'], maxRecords: 3 }).firstPage();
  assert.deepEqual(first.map((r) => r.get('Age')), [1234, 41, 19]);
  assert.deepEqual(Object.keys(first[0].fields).sort(), ['Age', 'Name']);
  pass('select firstPage');
  const pages = [];
  await contacts.select({ pageSize: 2, sort: [{ field: 'Name' }] }).eachPage((records, fetchNextPage) => {
    pages.push(records.map((r) => r.get('Name')));
    fetchNextPage();
  });
  assert.deepEqual(pages, [['Ann', 'Bob'], ['Cat', 'Dan'], ['Eve']]);
  pass('select eachPage', { pages: pages.length });
  const active = await contacts.select({ filterByFormula: "AND({Status} = 'Active', {Age} > 10)", sort: [{ field: 'Age' }] }).all();
  assert.deepEqual(active.map((r) => r.get('Name')), ['Cat', 'Ann']);
  pass('select all filterByFormula');
  const viewed = await contacts.select({ view: 'Active only' }).all();
  assert.deepEqual(viewed.map((r) => r.get('Name')), ['Ann', 'Cat']);
  assert.ok('VIP' in viewed[0].fields, 'a view hides no field');
  pass('select view');
  const strings = await contacts.select({ cellFormat: 'string', timeZone: 'Asia/Shanghai', userLocale: 'zh-cn',
                                          filterByFormula: "{Name} = 'Dan'" }).firstPage();
  assert.equal(strings[0].get('Owner'), '李四');
  assert.equal(typeof strings[0].get('Age'), 'string');
  pass('select cellFormat string');
  const byId = await contacts.select({ returnFieldsByFieldId: true, maxRecords: 1, sort: [{ field: 'Name' }] }).firstPage();
  assert.ok(Object.keys(byId[0].fields).every((k) => k.startsWith('fld')));
  pass('select returnFieldsByFieldId');
  const posted = await contacts.select({ method: 'post', fields: ['Name'], sort: [{ field: 'Name' }], pageSize: 4 }).all();
  assert.equal(posted.length, 5);
  pass('select method post (listRecords)');
  const longFormula = 'OR(' + Array.from({ length: 800 }, (_, i) => `{Name} = 'n${i}'`).concat(["{Name} = 'Bob'"]).join(', ') + ')';
  const viaPost = await contacts.select({ filterByFormula: longFormula }).all();
  assert.deepEqual(viaPost.map((r) => r.get('Name')), ['Bob']);
  pass('select long url goes by post');

  // update: one (PATCH /{id}), an array (PATCH /); Record.patchUpdate / updateFields
  const one = await contacts.update(made[1].id, { Age: 8 });
  assert.equal(one.get('Age'), 8);
  assert.equal(one.get('Name'), 'Bob');
  const many = await contacts.update([{ id: made[0].id, fields: { Age: 42 } }, { id: made[2].id, fields: { Age: 20 } }]);
  assert.deepEqual(many.map((r) => r.get('Age')), [42, 20]);
  const typedUpdate = await contacts.update(made[1].id, { Age: '9' }, { typecast: true });
  assert.equal(typedUpdate.get('Age'), 9);
  const typedUpdates = await contacts.update([{ id: made[1].id, fields: { Status: 'active' } }], { typecast: true });
  assert.equal(typedUpdates[0].get('Status'), 'Active');
  await found.patchUpdate({ Notes: 'patched' });
  assert.equal(found.get('Notes'), 'patched');
  await found.updateFields({ Notes: 'again' });
  assert.equal(found.get('Notes'), 'again');
  pass('update single and array');

  // replace: one (PUT /{id}), an array (PUT /); unspecified fields are cleared (left out)
  const replaced = await contacts.replace(made[0].id, { Name: 'Ann B.', Age: 43 });
  assert.equal(replaced.get('Name'), 'Ann B.');
  assert.equal(replaced.get('VIP'), undefined);
  assert.equal(replaced.get('Notes'), undefined);
  const replacedMany = await contacts.replace([{ id: made[2].id, fields: { Name: 'Cat C.' } }]);
  assert.equal(replacedMany[0].get('Age'), undefined);
  const typedReplace = await contacts.replace(made[2].id, { Name: 'Cat', Age: '21' }, { typecast: true });
  assert.equal(typedReplace.get('Age'), 21);
  await typedReplace.putUpdate({ Name: 'Cat', Age: 22 });
  assert.equal(typedReplace.get('Age'), 22);
  await typedReplace.replaceFields({ Name: 'Cat', Age: 23 });
  assert.equal(typedReplace.get('Age'), 23);
  pass('replace single and array');

  // Record.fetch and Record.save (save PUTs the record's fields: here only those selected)
  const [cat] = await contacts.select({ fields: ['Name', 'Age'], filterByFormula: "{Name} = 'Cat'" }).firstPage();
  cat.set('Age', 24);
  await cat.save();
  const fetched = contacts.find(cat.id);
  assert.equal((await fetched).get('Age'), 24);
  const again = await (await contacts.find(cat.id)).fetch();
  assert.equal(again.get('Name'), 'Cat');
  pass('record save and fetch');

  // the record's comment count, and comments through base.makeRequest (the client's public raw call)
  const added = await base.makeRequest({ method: 'POST', path: `/Contacts/${cat.id}/comments`, body: { text: 'Ring @[li]' } });
  assert.equal(added.body.text, 'Ring @[li]');
  assert.equal(added.body.mentioned.li.displayName, '李四');
  const listed = await base.makeRequest({ path: `/Contacts/${cat.id}/comments` });
  assert.deepEqual(listed.body.comments.map((c) => c.text), ['Ring @[li]']);
  const counted = await contacts.select({ recordMetadata: ['commentCount'], filterByFormula: "{Name} = 'Cat'" }).firstPage();
  assert.equal(counted[0].commentCount, 1);
  const edited = await base.makeRequest({ method: 'PATCH', path: `/Contacts/${cat.id}/comments/${added.body.id}`, body: { text: 'Done' } });
  assert.equal(edited.body.text, 'Done');
  assert.ok(edited.body.lastUpdatedTime);
  const gone = await base.makeRequest({ method: 'DELETE', path: `/Contacts/${cat.id}/comments/${added.body.id}` });
  assert.deepEqual(gone.body, { id: added.body.id, deleted: true });
  pass('comments and commentCount');

  // destroy: one, an array; Record.destroy
  const removed = await contacts.destroy(made[1].id);
  assert.equal(removed.id, made[1].id);
  const removedMany = await contacts.destroy([typed.id, typedMany[0].id]);
  assert.deepEqual(removedMany.map((r) => r.id), [typed.id, typedMany[0].id]);
  await (await contacts.find(made[2].id)).destroy();
  await rejects(contacts.find(made[1].id), 404, 'NOT_FOUND');
  const left = await contacts.select().all();
  assert.deepEqual(left.map((r) => r.get('Name')), ['Ann B.']);
  pass('destroy single and array');

  // the deprecated list/forEach still page through the records
  const listedOld = await new Promise((resolve, reject) => contacts.list(10, null, {}, (err, recs) => (err ? reject(err) : resolve(recs))));
  assert.equal(listedOld.length, 1);
  const each = [];
  await new Promise((resolve, reject) => contacts.forEach((r) => each.push(r.id), (err) => (err ? reject(err) : resolve())));
  assert.deepEqual(each, [made[0].id]);
  pass('deprecated list and forEach');

  // callbacks work as promises do
  const viaCallback = await new Promise((resolve, reject) => contacts.find(made[0].id, (err, rec) => (err ? reject(err) : resolve(rec))));
  assert.equal(viaCallback.get('Name'), 'Ann B.');
  pass('callback style');

  // errors, as AirtableError with Airtable's types and status codes (the client names every 403 NOT_AUTHORIZED)
  await rejects(contacts.find('recNOTTHEREXXXXXX'), 404, 'NOT_FOUND');
  await rejects(contacts.create({ Nope: 1 }), 422, 'UNKNOWN_FIELD_NAME');
  await rejects(contacts.select({ filterByFormula: '{Name' }).all(), 422, 'INVALID_FILTER_BY_FORMULA');
  await rejects(contacts.select({ view: 'No such view' }).all(), 422, 'VIEW_NAME_NOT_FOUND');
  await rejects(base('No such table').select().firstPage(), 403, 'NOT_AUTHORIZED');
  await rejects(contacts.create([]), 422);
  await rejects(new Airtable({ apiKey: 'gbt_wrong', endpointUrl: url }).base('crm')('Contacts').select().firstPage(), 401,
                'AUTHENTICATION_REQUIRED');
  pass('errors');

  // a person with fewer rights: rows and fields outside them are never returned
  const viewer = new Airtable({ apiKey: process.env.GRIDBASE_VIEWER_TOKEN, endpointUrl: url }).base('crm')('Contacts');
  const theirs = await viewer.select().all();
  assert.ok(theirs.every((r) => r.get('Status') === 'Active' && !('Email' in r.fields)));
  await rejects(viewer.create({ Name: 'not allowed' }), 403, 'NOT_AUTHORIZED');
  pass('permissions');

  // a table whose name holds a "/" (the client sends it as %2F)
  const moves = Airtable.base('io')('In/Out');
  const moved = await moves.create([{ fields: { What: 'chairs', Qty: 2 } }, { fields: { What: 'desks', Qty: 1 } }]);
  assert.equal((await moves.find(moved[0].id)).get('What'), 'chairs');
  assert.equal((await moves.update(moved[0].id, { Qty: 3 })).get('Qty'), 3);
  assert.deepEqual((await moves.select({ sort: [{ field: 'Qty' }] }).all()).map((r) => r.get('What')), ['desks', 'chairs']);
  await moves.destroy([moved[0].id, moved[1].id]);
  assert.deepEqual(await moves.select().all(), []);
  pass('a table name with a slash');
}

async function ratelimit() {
  const contacts = new Airtable({ apiKey: process.env.GRIDBASE_TOKEN, endpointUrl: url }).base('crm')('Contacts');
  const all = await Promise.all(Array.from({ length: 5 }, () => contacts.select({ maxRecords: 1 }).firstPage()));
  assert.equal(all.length, 5);
  pass('retries after 429');
}

const phases = { main: main, ratelimit: ratelimit };
phases[process.argv[2]]().then(
  () => process.stdout.write(JSON.stringify({ done: steps }) + '\n'),
  (err) => {
    process.stderr.write(`FAILED after ${JSON.stringify(steps)}: ${err && err.stack ? err.stack : err}\n`);
    if (err && err.error) process.stderr.write(`AirtableError ${err.error} ${err.statusCode}: ${err.message}\n`);
    process.exit(1);
  },
);
