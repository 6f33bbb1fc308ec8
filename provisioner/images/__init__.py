"""Images by URL: read once into a content-addressed cache, verified, then imported.

- ``checksums``: ``sha256:HEX`` / ``sha512:HEX`` values and SHA*SUMS files;
- ``formats``: what a file is (qcow2, raw, iso, vmdk, ova) and the disk size it holds;
- ``transfer``: reading a URL (http(s) with Range, file://, a path), resumable;
- ``cache``: one verified copy per digest, locked while it is being filled;
- ``progress``: a bar on a terminal, plain lines elsewhere;
- ``sources``: what a plan needs to know about an image before anything is fetched;
- ``local``: what a provider calls to get the verified file of an image resource.
"""
