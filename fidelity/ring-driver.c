/*
 * ring-driver.c — drives Xen's own RING_* macros (xen/io/ring.h, with blkif's ring types from
 * xen/io/blkif.h) on a real shared ring, following a script read from stdin, and prints every
 * index and every notify / work decision. impl/xen/xen-headers.test.ts feeds the same scripts to
 * blkif-model's shared-ring.ts and requires identical output.
 *
 * Script, one command a line (numbers decimal, RING_IDX values unsigned 32-bit):
 *   ring ORDER START   new sequence: 4096<<ORDER zeroed bytes, SHARED_RING_INIT, then every
 *                      index moved to START (events START+1), FRONT_RING_ATTACH at START,
 *                      BACK_RING_ATTACH at the shared rsp_prod (as Linux blkback does)
 *   produce N          front fills up to N request slots (stops when RING_FULL), id = index
 *   pushreq            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY
 *   consume N          back: read req_prod; RING_REQUEST_PROD_OVERFLOW -> "overflow"; else
 *                      RING_COPY_REQUEST up to N, stopping at RING_REQUEST_CONS_OVERFLOW
 *   respond N          back fills up to N response slots (never past req_cons), id = index
 *   pushrsp            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY
 *   finalreq           RING_FINAL_CHECK_FOR_REQUESTS
 *   finalrsp           RING_FINAL_CHECK_FOR_RESPONSES
 *   reap N             front: read rsp_prod; RING_RESPONSE_PROD_OVERFLOW -> "overflow"; else
 *                      RING_COPY_RESPONSE up to N (never past req_prod_pvt: blkfront rejects ids
 *                      it has not issued)
 *   counts             RING_FREE_REQUESTS, RING_FULL, unconsumed responses / requests
 *   hostile FIELD V    a peer writes V into req_prod | req_event | rsp_prod | rsp_event
 * Each command prints one line: its result, then " |" and the eight indices. Ids of 2^53 or
 * more (junk a peer left in a slot) print as "big": the model keeps u64 fields in doubles,
 * exact only below 2^53 (see blkif-abi.ts).
 */
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define xen_mb() __sync_synchronize()
#define xen_rmb() __sync_synchronize()
#define xen_wmb() __sync_synchronize()

#include <xen/io/blkif.h>

static unsigned char *area;
static blkif_sring_t *s;
static blkif_front_ring_t f;
static blkif_back_ring_t b;

static void print_id(unsigned k, uint64_t id) {
    if (id >= (1ULL << 53)) printf("%sbig", k ? "," : "");
    else printf("%s%llu", k ? "," : "", (unsigned long long)id);
}

static void ring_new(unsigned order, RING_IDX start) {
    size_t bytes = 4096UL << order;
    free(area);
    area = calloc(1, bytes);
    s = (blkif_sring_t *)area;
    SHARED_RING_INIT(s);
    s->req_prod = s->rsp_prod = start;
    s->req_event = s->rsp_event = start + 1;
    FRONT_RING_ATTACH(&f, s, start, bytes);
    BACK_RING_ATTACH(&b, s, s->rsp_prod, bytes);
    printf("ring size=%u", RING_SIZE(&f));
}

static void produce(unsigned n) {
    unsigned k = 0;
    for (; k < n && !RING_FULL(&f); k++) {
        blkif_request_t *req = RING_GET_REQUEST(&f, f.req_prod_pvt);
        memset(req, 0, sizeof(*req));
        req->operation = BLKIF_OP_READ;
        req->id = f.req_prod_pvt;
        f.req_prod_pvt++;
    }
    printf("produce %u", k);
}

static void consume(unsigned n) {
    RING_IDX rc = b.req_cons, rp = s->req_prod;
    xen_rmb();
    if (RING_REQUEST_PROD_OVERFLOW(&b, rp)) {
        printf("consume overflow");
        return;
    }
    printf("consume ids=");
    for (unsigned k = 0; k < n && rc != rp; k++) {
        if (RING_REQUEST_CONS_OVERFLOW(&b, rc)) break;
        blkif_request_t req;
        RING_COPY_REQUEST(&b, rc, &req);
        b.req_cons = ++rc;
        print_id(k, req.id);
    }
}

static void respond(unsigned n) {
    unsigned k = 0;
    for (; k < n && b.rsp_prod_pvt != b.req_cons; k++) {
        blkif_response_t *rsp = RING_GET_RESPONSE(&b, b.rsp_prod_pvt);
        rsp->id = b.rsp_prod_pvt;
        rsp->operation = BLKIF_OP_READ;
        rsp->status = BLKIF_RSP_OKAY;
        b.rsp_prod_pvt++;
    }
    printf("respond %u", k);
}

static void reap(unsigned n) {
    RING_IDX i = f.rsp_cons, rp = s->rsp_prod;
    xen_rmb();
    if (RING_RESPONSE_PROD_OVERFLOW(&f, rp)) {
        printf("reap overflow");
        return;
    }
    printf("reap ids=");
    for (unsigned k = 0; k < n && i != rp && i != f.req_prod_pvt; k++) {
        blkif_response_t rsp;
        RING_COPY_RESPONSE(&f, i, &rsp);
        f.rsp_cons = ++i;
        print_id(k, rsp.id);
    }
}

static void hostile(const char *field, RING_IDX v) {
    if (!strcmp(field, "req_prod")) s->req_prod = v;
    else if (!strcmp(field, "req_event")) s->req_event = v;
    else if (!strcmp(field, "rsp_prod")) s->rsp_prod = v;
    else if (!strcmp(field, "rsp_event")) s->rsp_event = v;
    else { fprintf(stderr, "bad field %s\n", field); exit(2); }
    printf("hostile %s=%u", field, v);
}

static int step(const char *cmd, const char *arg1, unsigned long n, unsigned long m) {
    int flag;
    if (!strcmp(cmd, "ring")) ring_new((unsigned)n, (RING_IDX)m);
    else if (!s) return 0;
    else if (!strcmp(cmd, "produce")) produce((unsigned)n);
    else if (!strcmp(cmd, "pushreq")) {
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f, flag);
        printf("pushreq notify=%d", !!flag);
    }
    else if (!strcmp(cmd, "consume")) consume((unsigned)n);
    else if (!strcmp(cmd, "respond")) respond((unsigned)n);
    else if (!strcmp(cmd, "pushrsp")) {
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b, flag);
        printf("pushrsp notify=%d", !!flag);
    }
    else if (!strcmp(cmd, "finalreq")) {
        RING_FINAL_CHECK_FOR_REQUESTS(&b, flag);
        printf("finalreq work=%d", !!flag);
    }
    else if (!strcmp(cmd, "finalrsp")) {
        RING_FINAL_CHECK_FOR_RESPONSES(&f, flag);
        printf("finalrsp work=%d", !!flag);
    }
    else if (!strcmp(cmd, "reap")) reap((unsigned)n);
    else if (!strcmp(cmd, "counts"))
        printf("counts free=%u full=%d rsps=%u reqs=%u", RING_FREE_REQUESTS(&f), RING_FULL(&f),
               XEN_RING_NR_UNCONSUMED_RESPONSES(&f), XEN_RING_NR_UNCONSUMED_REQUESTS(&b));
    else if (!strcmp(cmd, "hostile")) hostile(arg1, (RING_IDX)m);
    else return 0;
    printf(" | %u %u %u %u %u %u %u %u\n", s->req_prod, s->req_event, s->rsp_prod, s->rsp_event,
           f.req_prod_pvt, f.rsp_cons, b.rsp_prod_pvt, b.req_cons);
    return 1;
}

int main(void) {
    char line[256], cmd[32], arg1[32];
    while (fgets(line, sizeof(line), stdin)) {
        unsigned long n = 0, m = 0;
        arg1[0] = 0;
        if (sscanf(line, "%31s", cmd) != 1) continue;
        if (!strcmp(cmd, "hostile")) sscanf(line, "%*s %31s %lu", arg1, &m);
        else sscanf(line, "%*s %lu %lu", &n, &m);
        if (!step(cmd, arg1, n, m)) { fprintf(stderr, "bad command: %s", line); return 2; }
    }
    free(area);
    return 0;
}
