// blkfront_connect that ignores xenbus_gather's result for sectors, info and sector-size and
// connects the disk anyway (with whatever capacity it had), instead of xenbus_dev_fatal
// "reading backend fields at %s".
import { variantOf } from './variant.ts';

export const blkfrontIgnoresDeviceInfo = variantOf('blkfront-ignores-device-info', {
  blkfront: { readDeviceInfo: () => undefined },
});
