// One fixed fast-check seed for the whole test run, so `npm test` is reproducible: a teeth test
// never passes or fails by luck, and a failure replays. Exploring new schedules is the job of
// `blkif check` campaigns; set BLKIF_TEST_SEED to run the suite on other seeds.
import fc from 'fast-check';

const seed = Number(process.env.BLKIF_TEST_SEED ?? 20261123);
fc.configureGlobal({ seed });
