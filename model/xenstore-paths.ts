// Where the blkif directories live (libxl_device.c's libxl__device_frontend_path and
// libxl__device_backend_path), and xenbus_dev_fatal's error nodes. The only module that builds
// a device path; the device id of the model's one disk is spelled only here.

import { errorNodePath } from './xenstore-keys.ts';

/** dom0 runs the backend (and the toolstack) in every recorded scenario. */
export const BACKEND_DOMID = 0;
/** xvda: (202 << 8) | (0 << 4) | 0, the device id of the recorded scenario. */
export const VBD_DEVID = 51712;

/** The guest's home, /local/domain/<domid>. */
export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

/** The frontend directory, /local/domain/<guest>/device/vbd/<devid>. */
export function frontendPath(guest: number): string {
  return `${domainPath(guest)}/device/vbd/${VBD_DEVID}`;
}

/** The backend directory, /local/domain/0/backend/vbd/<guest>/<devid>. */
export function backendPath(guest: number): string {
  return `${domainPath(BACKEND_DOMID)}/backend/vbd/${guest}/${VBD_DEVID}`;
}

/** xenbus_dev_fatal of blkfront: error/device/vbd/<handle>/error in the guest's home. */
export function frontendErrorPath(guest: number, handle: number): string {
  return `${domainPath(guest)}/${errorNodePath(`device/vbd/${handle}`)}`;
}

/** xenbus_dev_fatal of blkback: error/backend/vbd/<guest>/<devid>/error in dom0's home. */
export function backendErrorPath(guest: number): string {
  return `${domainPath(BACKEND_DOMID)}/${errorNodePath(`backend/vbd/${guest}/${VBD_DEVID}`)}`;
}
