"""Dependency manifests of every kind, their dependencies, and malformed ones."""

import json

import pytest

from ecl_core.codebase.manifests import find_manifests


def parsed(files: dict[str, str]) -> list[tuple[str, str, list[str], list[str]]]:
    return [(m.path, m.kind, m.dependencies, m.dev_dependencies)
            for m in find_manifests(files.items())]


def test_package_json():
    text = json.dumps({
        "dependencies": {"express": "^4", "zod": "^3"}, "peerDependencies": {"react": "*"},
        "optionalDependencies": {"fsevents": "*", "zod": "^3"},
        "devDependencies": {"jest": "^29", "typescript": "^5"},
    })
    assert parsed({"web/package.json": text}) == [
        ("web/package.json", "npm", ["express", "fsevents", "react", "zod"],
         ["jest", "typescript"]),
    ]


def test_pyproject_pep621_dependency_groups_and_poetry():
    text = '''
[project]
dependencies = ["requests[socks]>=2", "click", "tomli ; python_version < '3.11'"]
[project.optional-dependencies]
docs = ["sphinx>=7"]
dev = ["pytest", "click"]
[dependency-groups]
lint = ["ruff", {include-group = "docs"}]
[tool.poetry.dependencies]
python = "^3.11"
httpx = "*"
[tool.poetry.dev-dependencies]
black = "*"
[tool.poetry.group.typing.dependencies]
mypy = "*"
'''
    assert parsed({"pyproject.toml": text}) == [
        ("pyproject.toml", "python", ["click", "httpx", "requests", "tomli"],
         ["black", "click", "mypy", "pytest", "ruff", "sphinx"]),
    ]


def test_requirements_files():
    text = (
        "# pinned\nflask==3.0 ; python_version > '3'\n-r base.txt\n-c constraints.txt\n"
        "-e git+https://example.com/x.git#egg=x\nhttps://example.com/y.whl\n./local/pkg\n"
        "uvicorn[standard] >= 0.30  # server\nattrs @ https://example.com/attrs.tar.gz\n"
        "numpy==2.0 \\\n    --hash=sha256:abc\n\n"
    )
    assert parsed({
        "requirements.txt": text, "requirements-dev.txt": "ruff\npytest\n",
        "requirements/base.txt": "django\n", "requirements/test.txt": "factory-boy\n",
        "docs/requirements.md": "not-a-manifest\n", "reqs.txt": "nope\n",
    }) == [
        ("requirements-dev.txt", "python", [], ["pytest", "ruff"]),
        ("requirements.txt", "python", ["attrs", "flask", "numpy", "uvicorn"], []),
        ("requirements/base.txt", "python", ["django"], []),
        ("requirements/test.txt", "python", [], ["factory-boy"]),
    ]


def test_setup_cfg_and_pipfile():
    setup_cfg = (
        "[metadata]\nname = x\n[options]\ninstall_requires =\n    requests>=2\n"
        "    click\ntests_require = pytest\n[options.extras_require]\n"
        "docs =\n    sphinx\nyaml = pyyaml>=6\n"
    )
    pipfile = '[packages]\nflask = "*"\n[dev-packages]\npytest = "*"\n'
    assert parsed({
        "setup.cfg": setup_cfg, "Pipfile": pipfile,
        "tools/setup.cfg": "[flake8]\nmax-line-length = 100\n",  # tool settings only
        "lib/setup.cfg": "[options]\ninstall_requires = file: requirements.in\n",
    }) == [
        ("Pipfile", "python", ["flask"], ["pytest"]),
        ("lib/setup.cfg", "python", [], []),
        ("setup.cfg", "python", ["click", "requests"], ["pytest", "pyyaml", "sphinx"]),
    ]


def test_cargo_toml():
    text = '''
[package]
name = "x"
[dependencies]
serde = { version = "1", features = ["derive"] }
tokio = "1"
[dev-dependencies]
proptest = "1"
[build-dependencies]
cc = "1"
[target.'cfg(windows)'.dependencies]
winapi = "0.3"
[workspace.dependencies]
anyhow = "1"
'''
    assert parsed({"Cargo.toml": text}) == [
        ("Cargo.toml", "cargo", ["anyhow", "serde", "tokio", "winapi"], ["cc", "proptest"]),
    ]


def test_go_mod():
    text = (
        "module example.com/x\n\ngo 1.22\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n"
        "\tgolang.org/x/sync v0.7.0 // indirect\n)\n\nrequire github.com/google/uuid v1.6.0\n"
        "require(\n\tgithub.com/a/b v1.0.0\n)\n"
        "replace (\n\texample.com/old => example.com/new v1.0.0\n)\n"
    )
    assert parsed({"go.mod": text}) == [
        ("go.mod", "go", ["github.com/a/b", "github.com/google/uuid", "github.com/pkg/errors",
                          "golang.org/x/sync"], []),
    ]


def test_pom_xml():
    def dep(group: str, artifact: str, scope: str = "") -> str:
        scoped = f"<scope>{scope}</scope>" if scope else ""
        return (f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
                f"{scoped}</dependency>")

    text = (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        f"<dependencyManagement><dependencies>{dep('org.bom', 'managed')}</dependencies>"
        "</dependencyManagement>"
        f"<dependencies>{dep('org.slf4j', 'slf4j-api')}{dep('junit', 'junit', 'test')}"
        f"{dep('javax.servlet', 'servlet-api', 'provided')}</dependencies>"
        f"<build><plugins><plugin><dependencies>{dep('org.plugin', 'extra')}</dependencies>"
        "</plugin></plugins></build>"
        f"<profiles><profile><dependencies>{dep('org.h2', 'h2')}</dependencies></profile>"
        "</profiles></project>"
    )
    assert parsed({"pom.xml": text}) == [
        ("pom.xml", "maven", ["javax.servlet:servlet-api", "org.h2:h2", "org.slf4j:slf4j-api"],
         ["junit:junit"]),
    ]


def test_gemfile():
    text = '''source "https://rubygems.org"
gem "rails", "~> 7.1"
gem 'pg', require: false # the database
group :development, :test do
  platforms :mri do
    gem "byebug"
  end
  gem "rspec-rails"
end
gem "puma"
gem "rubocop", group: :development
gem "capybara", groups: [:test]
group :production do
  gem "lograge"
end
'''
    assert parsed({"Gemfile": text}) == [
        ("Gemfile", "ruby", ["lograge", "pg", "puma", "rails"],
         ["byebug", "capybara", "rspec-rails", "rubocop"]),
    ]


def test_build_gradle_groovy_and_kotlin():
    groovy = '''buildscript {
    dependencies { classpath 'com.android.tools.build:gradle:8.0' }
}
dependencies {
    implementation 'com.google.guava:guava:33.0-jre'
    api group: 'org.apache.commons', name: 'commons-lang3', version: '3.14'
    implementation project(':core')
    testImplementation "junit:junit:4.13.2"
}
'''
    kotlin = '''plugins { id("org.jetbrains.kotlin.jvm") version "2.0.0" }
dependencies {
    implementation("io.ktor:ktor-server-core:2.3.0")
    debugImplementation("com.squareup.leakcanary:leakcanary-android:2.14")
    androidTestImplementation("androidx.test:runner:1.5.2")
}
'''
    assert parsed({"build.gradle": groovy, "app/build.gradle.kts": kotlin}) == [
        ("app/build.gradle.kts", "gradle",
         ["com.squareup.leakcanary:leakcanary-android", "io.ktor:ktor-server-core"],
         ["androidx.test:runner"]),
        ("build.gradle", "gradle",
         ["com.google.guava:guava", "org.apache.commons:commons-lang3"], ["junit:junit"]),
    ]


@pytest.mark.parametrize(
    ("path", "kind", "text"),
    [
        ("package.json", "npm", "{ not json"),
        ("package.json", "npm", "[1, 2]"),
        ("package.json", "npm", '{"dependencies": "express", "devDependencies": ["jest"]}'),
        ("pyproject.toml", "python", "[project\nname ="),
        ("pyproject.toml", "python", '[project]\ndependencies = "requests"\n'),
        ("Cargo.toml", "cargo", "[dependencies\n"),
        ("Cargo.toml", "cargo", 'dependencies = "serde"\ntarget = 3\n'),
        ("pom.xml", "maven", "<project><dependencies>"),
        ("Pipfile", "python", "packages = 1\n"),
        ("setup.cfg", "python", "[options\ninstall_requires = x\n"),
    ],
)
def test_a_malformed_manifest_is_listed_with_no_dependency(path, kind, text):
    assert parsed({path: text}) == [(path, kind, [], [])]
