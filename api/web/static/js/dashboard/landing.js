// A role's own page. Someone who signs in on the wall screen's address with a role
// that has its own page is taken there (customer service; technicians and guards are told
// where to go), still signed in: the sign-in moves to that page's
// session (each page keeps its own, see api.js useSession).

const OWN_PAGE = { customer_service: 'service' };

/** Go to the role's own page if it is not `here`; true when the browser is leaving. */
export function goToOwnPage(me, here) {
  const page = OWN_PAGE[me.role];
  if (!page || page === here) return false;
  const token = localStorage.getItem(`ew.token.${here}`);
  if (token) localStorage.setItem(`ew.token.${page}`, token);
  localStorage.setItem(`ew.me.${page}`, JSON.stringify(me));
  localStorage.removeItem(`ew.token.${here}`);
  localStorage.removeItem(`ew.me.${here}`);
  location.replace(`/${page}`);
  return true;
}
