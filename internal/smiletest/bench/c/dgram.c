/*
 * dgram.c is the smallest datagram greeting server, the limit
 * smile-server's datagram side is measured against: one UDP socket on
 * 127.0.0.1:0 with IP_PKTINFO, then recvmsg, sendmsg in one thread, no
 * log, no counts. Like smile-server it answers only a datagram at least
 * as long as the greeting, and answers from the address the datagram was
 * sent to (the IP_PKTINFO control message received goes back with the
 * answer), so both do the same work per datagram. It prints "listening
 * on 127.0.0.1:PORT" and greets until SIGTERM, which ends it with
 * status 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: dgram GREETING\n");
		return 2;
	}
	const char *greeting = argv[1];
	size_t n = strlen(greeting);
	signal(SIGTERM, stop);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("dgram");
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	static char buf[65536];
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	for (;;) {
		struct sockaddr_in peer;
		struct iovec in = {.iov_base = buf, .iov_len = sizeof buf};
		struct msghdr m = {.msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = &in, .msg_iovlen = 1,
		                   .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
		ssize_t got = recvmsg(fd, &m, 0);
		if (got < 0 || (size_t)got < n)
			continue;
		struct in_pktinfo *pi = NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				pi = (struct in_pktinfo *)CMSG_DATA(c);
		if (pi == NULL)
			continue;
		/* Answer from the address asked: the destination as source. */
		pi->ipi_spec_dst = pi->ipi_addr;
		pi->ipi_ifindex = 0;
		struct iovec out = {.iov_base = (void *)greeting, .iov_len = n};
		m.msg_iov = &out;
		m.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
		m.msg_flags = 0;
		(void)sendmsg(fd, &m, 0);
	}
}
