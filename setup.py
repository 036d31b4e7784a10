"""RedisLite: a Redis 7.0-compatible in-memory server on Twisted."""
from setuptools import find_packages, setup

setup(
    name="redislite-server",
    version="0.1.0",
    description="Redis 7.0-compatible in-memory database server on Twisted (actor model)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["redislite", "redislite.*"]) + ["twisted.plugins"],
    package_data={"twisted": ["plugins/redislite_plugin.py"]},
    include_package_data=True,
    install_requires=[
        "twisted[tls]>=23.10,<27",     # pyOpenSSL + service_identity: TLS listener, replication, HTTPS
        "cryptography>=41",            # decrypts tls-key-file (redislite/tls.py)
        "klein>=23.5,<26",
        "prometheus-client>=0.17,<1",
        "attrs>=23.1",
        "hiredis>=2.2,<4",
        "sortedcontainers>=2.4,<3",
        "lupa>=2.0,<3",
    ],
    extras_require={
        "test": [
            "pytest>=7.4",
            "pytest-twisted>=1.14",
            "pytest-timeout>=2.1",
            "hypothesis>=6.80",
            "redis>=5.0",
            "txredisapi>=1.4.10",
            "treq>=23.11",
            # tests/unit/test_parser_atheris.py: a binary wheel exists only there
            "atheris>=2.3; platform_system == 'Linux' and platform_machine == 'x86_64' and python_version < '3.12'",
        ],
        # benchmarks/: fakeredis's TcpFakeServer is the other Python Redis server we compare with
        # benchmarks/suite.py draws its scaling charts with matplotlib
        "bench": ["fakeredis>=2.20", "redis>=5.0", "matplotlib>=3.7"],
    },
    entry_points={"console_scripts": ["redislite=redislite.__main__:main"]},
    classifiers=["Framework :: Twisted", "Programming Language :: Python :: 3"],
)
