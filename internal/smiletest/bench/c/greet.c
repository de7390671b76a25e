/*
 * greet.c is the smallest greeting server, the limit smile-server is
 * measured against: socket, SO_REUSEADDR, bind, listen, then accept,
 * write, close in one thread, no log, no limits. It listens on
 * 127.0.0.1:0, prints "listening on 127.0.0.1:PORT" and writes argv[1]
 * to every peer until SIGTERM, which ends it with status 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: greet GREETING\n");
		return 2;
	}
	const char *greeting = argv[1];
	size_t n = strlen(greeting);
	signal(SIGTERM, stop);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("greet");
		return 1;
	}
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		(void)write(c, greeting, n);
		close(c);
	}
}
