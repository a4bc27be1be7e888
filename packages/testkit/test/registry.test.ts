import t from 'tap';
import { startRegistry } from '../src/index.js';

t.test('starts a distribution registry on loopback and stops it', async (t) => {
  const reg = await startRegistry();
  t.match(reg.host, /^127\.0\.0\.1:\d+$/);
  const res = await fetch(`${reg.url}/v2/`);
  t.equal(res.status, 200);
  await reg.stop();
  await t.rejects(fetch(`${reg.url}/v2/`), 'no longer listening after stop');
});

t.test('proxy mode in front of another registry', async (t) => {
  const up = await startRegistry();
  t.teardown(() => up.stop());
  const mirror = await startRegistry({ proxy: { remoteurl: up.url } });
  t.teardown(() => mirror.stop());
  const res = await fetch(`${mirror.url}/v2/`);
  t.equal(res.status, 200);
  t.match(mirror.log(), /proxy|Starting cached object TTL expiry scheduler|remote/i, 'registry reports proxy mode');
});
