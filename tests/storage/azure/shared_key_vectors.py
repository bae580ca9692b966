# Prints the SharedKey vectors of tests/storage/azure/shared_key_test.cpp, computed by Microsoft's
# azure-storage-blob (PyPI, 12.23.0) SharedKeyCredentialPolicy, not by our code. Run with a venv
# holding azure-storage-blob: python shared_key_vectors.py
from azure.core.pipeline import PipelineRequest, PipelineContext
from azure.core.rest import HttpRequest
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
pol = SharedKeyCredentialPolicy("devstoreaccount1", KEY)
def run(method, url, headers, body=None):
    req = HttpRequest(method, url, headers=headers, content=body)
    pr = PipelineRequest(req, PipelineContext(None))
    captured = {}
    orig = pol._add_authorization_header
    def cap(request, sts):
        captured['sts'] = sts
        orig(request, sts)
    pol._add_authorization_header = cap
    pol.on_request(pr)
    pol._add_authorization_header = orig
    print(repr(captured['sts']))
    print(req.headers['Authorization'])
run("PUT", "http://127.0.0.1:10000/devstoreaccount1/backups/prod/a%20b/seg.kbs",
    {"x-ms-date": "Sun, 06 Dec 2026 21:00:00 GMT", "x-ms-version": "2021-12-02", "x-ms-blob-type": "BlockBlob",
     "If-None-Match": "*", "Content-Length": "5", "x-ms-encryption-scope": "scope1"}, b"hello")
run("GET", "http://127.0.0.1:10000/devstoreaccount1/backups?restype=container&comp=list&prefix=prod%2F&marker=abc&maxresults=1000",
    {"x-ms-date": "Sun, 06 Dec 2026 21:00:00 GMT", "x-ms-version": "2021-12-02"})
run("PUT", "http://127.0.0.1:10000/devstoreaccount1/backups/k?comp=block&blockid=YWJjZA%3D%3D",
    {"x-ms-date": "Sun, 06 Dec 2026 21:00:00 GMT", "x-ms-version": "2021-12-02", "Content-Length": "0"})
