// What the page lets a person do, from what the server says they may do
// (gateway/web/js/roles.js reading `GET /api/v1/me`'s `abilities`).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { can, home, seesMoves } from '../../gateway/web/js/roles.js';

/**
 * What `GET /api/v1/me` answers for each role: the server's one table of roles
 * (convoy_core::Role::abilities, in convoy_core::Ability::ALL's order).
 */
const SERVER_ABILITIES = {
  admin: ['live', 'acknowledge', 'plan', 'vehicles', 'track', 'replay', 'exports', 'report', 'audit', 'users', 'phones', 'holds', 'view_holds', 'evidence'],
  dispatcher: ['live', 'acknowledge', 'plan', 'vehicles', 'track', 'replay', 'exports', 'report'],
  escort: ['live', 'acknowledge'],
  auditor: ['track', 'replay', 'exports', 'report', 'audit', 'view_holds', 'evidence'],
};

/** @param {keyof typeof SERVER_ABILITIES} role */
const person = (role) => ({ name: `${role}-1`, role, abilities: SERVER_ABILITIES[role], web: null });

/**
 * What each role was offered when the page kept its own table (before the server's list):
 * the page must offer each role exactly that.
 */
const OFFERED = {
  live: ['admin', 'dispatcher', 'escort'],
  acknowledge: ['admin', 'dispatcher', 'escort'],
  plan: ['admin', 'dispatcher'],
  replay: ['admin', 'dispatcher', 'auditor'],
  exports: ['admin', 'dispatcher', 'auditor'],
  report: ['admin', 'dispatcher', 'auditor'],
  audit: ['admin', 'auditor'],
  users: ['admin'],
  // The Phones view (#/phones) came with the server's `phones` ability: admins only.
  phones: ['admin'],
  // The Holds view (#/holds): admins place and release, auditors look.
  holds: ['admin'],
  view_holds: ['admin', 'auditor'],
};

test('can is true for exactly the abilities the server lists for the person', () => {
  const me = { name: 'x', role: 'dispatcher', abilities: ['replay', 'audit'], web: null };
  assert.equal(can(me, 'replay'), true);
  assert.equal(can(me, 'audit'), true);
  assert.equal(can(me, 'live'), false);
  assert.equal(can(me, 'plan'), false);
});

test('can goes by the abilities, not the role name: the page keeps no table of its own', () => {
  assert.equal(can({ name: 'x', role: 'admin', abilities: [], web: null }, 'users'), false);
  assert.equal(can({ name: 'x', role: 'auditor', abilities: ['live'], web: null }, 'live'), true);
  assert.equal(can({ name: 'x', role: 'a role the page never heard of', abilities: ['plan'], web: null }, 'plan'), true);
});

test('can is false for no one logged in, or an answer without the list', () => {
  assert.equal(can(null, 'live'), false);
  assert.equal(can(/** @type {any} */ ({ name: 'x', role: 'admin', web: null }), 'live'), false);
  assert.equal(can(/** @type {any} */ ({ name: 'x', role: 'admin', abilities: 'live', web: null }), 'live'), false);
});

test("'moves' is a view of the page, not an ability: no role has it", () => {
  for (const role of Object.keys(SERVER_ABILITIES)) assert.equal(can(person(role), 'moves'), false, role);
});

test('each role is offered what the page offered it before, ability by ability', () => {
  for (const [what, roles] of Object.entries(OFFERED)) {
    for (const role of Object.keys(SERVER_ABILITIES)) {
      assert.equal(can(person(role), what), roles.includes(role), `${role} ${what}`);
    }
  }
});

test('the list of moves is shown to admins, dispatchers and auditors, not to escorts', () => {
  assert.equal(seesMoves(person('admin')), true);
  assert.equal(seesMoves(person('dispatcher')), true);
  assert.equal(seesMoves(person('auditor')), true);
  assert.equal(seesMoves(person('escort')), false);
});

test('the list of moves comes with any one of plan, replay, exports or report', () => {
  for (const what of ['plan', 'replay', 'exports', 'report']) {
    assert.equal(seesMoves({ name: 'x', role: 'r', abilities: [what], web: null }), true, what);
  }
  for (const what of ['live', 'acknowledge', 'vehicles', 'track', 'audit', 'users', 'phones']) {
    assert.equal(seesMoves({ name: 'x', role: 'r', abilities: [what], web: null }), false, what);
  }
  assert.equal(seesMoves(null), false);
});

test('those who watch live land on the live map, auditors on the moves', () => {
  assert.equal(home(person('admin')), '#/live');
  assert.equal(home(person('dispatcher')), '#/live');
  assert.equal(home(person('escort')), '#/live');
  assert.equal(home(person('auditor')), '#/moves');
});

test('someone with no view to open has no home (the page tells them, rather than loop)', () => {
  assert.equal(home({ name: 'x', role: 'r', abilities: ['vehicles', 'track'], web: null }), null);
  assert.equal(home({ name: 'x', role: 'r', abilities: [], web: null }), null);
});
