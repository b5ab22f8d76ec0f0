// The seeded PRNG of the tests and property tests (mulberry32, from
// tinyflow/testing): reproducible, so a failing case can be rerun from its
// printed seed.

export { seededRandom as rng } from "../src/testing";
