import socket, subprocess, threading, time, os, sys
D = sys.argv[3] if len(sys.argv) > 3 else '/tmp/vsq'
UDS = D + '/v.sock'; VH = D + '/vh.sock'
for p in (UDS, VH, UDS + '_5000'):
    try: os.unlink(p)
    except FileNotFoundError: pass
hello = []
l5000 = socket.socket(socket.AF_UNIX); l5000.bind(UDS + '_5000'); l5000.listen(4)
def acc():
    c, _ = l5000.accept(); hello.append(c.recv(100))
threading.Thread(target=acc, daemon=True).start()
be = subprocess.Popen([sys.argv[1], '--socket', VH, '--uds-path', UDS, '--guest-cid', '3'], stderr=open(D + '/backend.log', 'w'), env=dict(os.environ, RUST_LOG='info'))
while not os.path.exists(VH): time.sleep(0.05)
qemu = subprocess.Popen(['qemu-system-x86_64', '-M', 'microvm,memory-backend=mem,acpi=off,pit=on,pic=on,rtc=on', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', '2', '-m', '256M',
    '-object', 'memory-backend-memfd,id=mem,size=256M,share=on', '-chardev', 'socket,id=vsock0,path=' + VH,
    '-device', 'vhost-user-vsock-device,chardev=vsock0', '-kernel', sys.argv[2], '-drive', 'file=' + D + '/root.erofs,if=none,id=d0,format=raw,readonly=on', '-device', 'virtio-blk-device,drive=d0',
    '-append', 'console=ttyS0 quiet root=/dev/vda rootfstype=erofs ro init=/init panic=-1 reboot=t tsc_early_khz=2445406', '-nographic', '-no-reboot'],
    stdin=subprocess.DEVNULL, stdout=open(D + '/console.log', 'w'), stderr=subprocess.STDOUT)
def connect(port):
    s = socket.socket(socket.AF_UNIX); s.connect(UDS); s.sendall(b'CONNECT %d\n' % port)
    f = s.makefile('rb'); line = f.readline()
    if not line.startswith(b'OK '): s.close(); return None, line
    return s, line
t0 = time.time()
while True:
    s, line = connect(1234)
    if s: break
    if time.time() - t0 > 120: print('guest never answered'); qemu.kill(); be.kill(); sys.exit(1)
    time.sleep(0.5)
print('connected after %.1fs: %r' % (time.time() - t0, line))
s.sendall(b'E\nhello vsock'); s.shutdown(socket.SHUT_WR)
print('echo:', s.recv(100)); s.close()
time.sleep(0.5); print('guest-initiated hello:', hello)
N = 100 << 20
s, _ = connect(1234); s.sendall(b'G %d\n' % N); got = 0; t = time.time()
while True:
    b = s.recv(1 << 20)
    if not b: break
    got += len(b)
dt = time.time() - t; print('guest->host %d bytes in %.2fs = %.1f MB/s' % (got, dt, got / dt / 1e6)); s.close()
s, _ = connect(1234); s.sendall(b'S\n'); chunk = b'y' * (1 << 20); t = time.time()
for _ in range(N >> 20): s.sendall(chunk)
s.shutdown(socket.SHUT_WR); r = s.recv(100); dt = time.time() - t
print('host->guest %s bytes acknowledged in %.2fs = %.1f MB/s' % (r.strip().decode(), dt, N / dt / 1e6)); s.close()
res = []
def echo(i):
    s, _ = connect(1234); msg = b'msg %d ' % i * 100; s.sendall(b'E\n' + msg); s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    res.append(got == msg); s.close()
ts = [threading.Thread(target=echo, args=(i,)) for i in range(40)]
[t.start() for t in ts]; [t.join() for t in ts]
print('40 concurrent echo streams ok:', sum(res), '/', len(res))
s, line = connect(4444); print('connect to unlistened guest port ->', s, line)
s, _ = connect(1234); s.sendall(b'Q\n')
qemu.wait(timeout=60); print('qemu exit', qemu.returncode)
be.wait(timeout=10); print('backend exit', be.returncode, 'sockets left:', os.path.exists(UDS), os.path.exists(VH))
