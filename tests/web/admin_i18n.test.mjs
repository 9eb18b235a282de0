// The admin views in Simplified Chinese (gateway/web/js: plan_form.js, people.js, password.js,
// agent_status.js, vehicles.js, holds.js, audit.js, error_text.js, when.js): the pure parts that
// read differently by language, each checked in Chinese and back in English.

import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';

import { receiverText, spoolText, stateText } from '../../gateway/web/js/agent_status.js';
import { ApiError } from '../../gateway/web/js/api.js';
import { actionCell, listName } from '../../gateway/web/js/audit.js';
import { holdScope } from '../../gateway/web/js/holds.js';
import { setLanguage } from '../../gateway/web/js/i18n.js';
import { confirmation, lastLogin, roleName } from '../../gateway/web/js/people.js';
import { newPasswordProblem } from '../../gateway/web/js/password.js';
import { describeChanges } from '../../gateway/web/js/plan_form.js';
import { errorText } from '../../gateway/web/js/error_text.js';
import { lastSeen, vehicleConfirmation } from '../../gateway/web/js/vehicles.js';
import { when } from '../../gateway/web/js/when.js';

afterEach(() => setLanguage('en'));

test('a version\'s changes name the fields in Chinese', () => {
  setLanguage('zh-CN');
  assert.equal(describeChanges([]), '创建');
  assert.equal(describeChanges(['name', 'window.to', 'team']), '修改了名称、结束时间、押运团队');
  assert.equal(describeChanges(['something_new']), '修改了something_new', 'a field the page does not know keeps its name');
});

test('people, roles and passwords read in Chinese', () => {
  setLanguage('zh-CN');
  assert.equal(roleName('dispatcher'), '调度员');
  assert.equal(confirmation('role', 'pat', 'auditor'), '将 pat 设为审计员？其权限将在下一次请求时生效。');
  assert.equal(confirmation('enable', 'pat'), null);
  assert.equal(lastLogin({ name: 'pat', role: 'escort', disabled: false, created_at: '2026-11-28T09:00:00Z', last_login_at: null }), '从未');
  assert.equal(newPasswordProblem('short', 'short'), '新密码至少需要 12 个字符。');
  setLanguage('en');
  assert.equal(roleName('dispatcher'), 'dispatcher', 'English keeps the server\'s names');
});

test('an agent\'s status and a vehicle read in Chinese', () => {
  setLanguage('zh-CN');
  assert.equal(stateText('online'), '在线');
  assert.equal(receiverText('no_data'), '接收机无数据');
  assert.equal(spoolText({ received_at: '2026-12-07T10:00:00Z', spool_depth: 1200, spool_dropped: 4 }), '1,200 条待发，丢弃 4 条');
  assert.equal(spoolText({ received_at: '2026-12-07T10:00:00Z', spool_depth: 0 }), '空');
  assert.equal(lastSeen({ id: 'truck-07', received_at: null, move: null, disabled: false }), '从未');
  assert.match(vehicleConfirmation('disable', 'truck-07') ?? '', /^停用 truck-07？/);
});

test('a hold\'s scope and an audit action read in Chinese, the code kept as the title', () => {
  setLanguage('zh-CN');
  const hold = { id: 1, move: null, vehicles: null, from: '', to: '', reason: '', reference: '', placed_by: 'a', placed_at: '', active: true, released_at: null, released_by: null, release_reason: null };
  assert.equal(holdScope(hold), '全部车辆');
  assert.equal(holdScope({ ...hold, move: 'm1', vehicles: ['truck-07'] }), '任务 m1（truck-07）');
  assert.deepEqual(actionCell('move.create'), { text: '创建任务', title: 'move.create' });
  assert.deepEqual(actionCell('made.up'), { text: 'made.up', title: null }, 'an unknown action shows its code');
  assert.equal(listName('audit_log'), '审计日志');
  assert.equal(listName('system'), '系统');
  assert.equal(listName('hold:12'), '保全 12');
  assert.equal(listName('truck-07'), 'truck-07', 'an id stays as it is');
  setLanguage('en');
  assert.deepEqual(actionCell('move.create'), { text: 'move.create', title: 'Move created' });
  assert.equal(listName('audit_log'), 'audit_log', 'English shows the record as it is');
});

test('a refusal reads by its reason in Chinese, and as the server said it in English', () => {
  const refused = new ApiError(409, 'this would leave no enabled admin: make another person admin (or enable one) first', 'last_admin');
  assert.equal(errorText(refused), refused.message);
  setLanguage('zh-CN');
  assert.match(errorText(refused), /^这样将没有可用的管理员/);
  assert.equal(errorText(new ApiError(400, 'what', 'brand_new_reason')), '服务器拒绝了此请求（brand_new_reason）。');
  assert.equal(errorText(new ApiError(0, 'the server cannot be reached (x)')), '无法连接服务器。');
  assert.equal(errorText(new ApiError(502, '502 Bad Gateway')), '服务器暂时无法响应，请重试。');
});

test('a date and time reads the Chinese way in a move\'s zone, and as always in English', () => {
  const at = '2026-11-29T05:20:05Z';
  assert.equal(when(at, 'Asia/Shanghai'), '2026-11-29 13:20:05');
  setLanguage('zh-CN');
  assert.equal(when(at, 'Asia/Shanghai'), '2026年11月29日 13:20:05');
  assert.equal(when(at, 'Not/AZone'), when(at), 'an unknown zone: the browser\'s own');
  assert.equal(when(null), '—');
});
