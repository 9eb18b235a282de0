// What each role may do, as the server enforces it: the page hides what a role may not do
// (the server refuses it anyway).

const ABILITIES = {
  live: ['admin', 'dispatcher', 'escort'],
  acknowledge: ['admin', 'dispatcher', 'escort'],
  plan: ['admin', 'dispatcher'],
  moves: ['admin', 'dispatcher', 'auditor'],
  replay: ['admin', 'dispatcher', 'auditor'],
  exports: ['admin', 'dispatcher', 'auditor'],
  report: ['admin', 'dispatcher', 'auditor'],
  audit: ['admin', 'auditor'],
  users: ['admin'],
};

/** Whether `role` may do `what` (a key of ABILITIES). */
export function can(role, what) {
  return (ABILITIES[what] || []).includes(role);
}

/** The view a role lands on after login. */
export function home(role) {
  return can(role, 'live') ? '#/live' : '#/moves';
}
