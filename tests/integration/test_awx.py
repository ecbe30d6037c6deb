"""The jobs and the inventory update of docs/awx/, run the way AWX runs them: through
ansible-runner, with the collection installed from its built tarball, the project of
docs/awx/project, and the environment the credential types of docs/awx inject."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import urllib.request

import ansible_runner
import jinja2
import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from collection_helpers import build_collection, install_collection
from lab_helpers import LAB, PREFIX, lab_namespaces, purge_lab
from net_helpers import free_port

BIN = pathlib.Path(sys.executable).parent
ROOT = pathlib.Path(__file__).resolve().parents[2]
AWX = ROOT / 'docs' / 'awx'
# A secret the job never needs: it must not show up in anything the job leaves behind.
SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYNOTUSED'


def load(name):
    with open(AWX / name) as handle:
        return yaml.safe_load(handle)


def inject(credential_type, inputs, private_dir):
    """The environment variables AWX would inject for a credential of this type: its file
    templates written to private files, then its env templates rendered."""
    injectors = load('credential-types/%s.yml' % credential_type)['injectors']
    render = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string
    filenames = {}
    for key, template in injectors.get('file', {}).items():
        path = private_dir / ('cred_%s' % key.split('.', 1)[-1])
        path.write_text(render(template).render(**inputs))
        path.chmod(0o600)
        filenames[key.split('.', 1)[-1]] = str(path)
    return {name: render(template).render(tower={'filename': filenames}, **inputs)
            for name, template in injectors.get('env', {}).items()}


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The collection as AWX gets it: built with ansible-galaxy, installed from the tarball."""
    work = tmp_path_factory.mktemp('collection')
    tarball = build_collection(work)
    return {'tarball': tarball, 'path': install_collection(tarball, work / 'collections')}


@pytest.fixture(scope='module')
def job_dir(tmp_path_factory, installed):
    """An ansible-runner private data dir as AWX lays one out for these job templates."""
    base = tmp_path_factory.mktemp('awx')
    private = base / 'private'
    shutil.copytree(AWX / 'project', private / 'project')
    (private / 'inventory').mkdir()
    (private / 'inventory' / 'hosts').write_text('localhost ansible_connection=local ansible_python_interpreter=%s\n'
                                                 % sys.executable)
    secrets = base / 'secrets'
    (secrets / 'fleet').mkdir(parents=True)
    # A second cloud that cannot be reached: the inventory update reports it and goes on.
    elsewhere = {'provider': 'libcloud', 'driver': 'ec2', 'region': 'eu-west-1', 'host': '127.0.0.1',
                 'port': free_port(), 'secure': False}
    common = {'ANSIBLE_COLLECTIONS_PATH': str(installed['path']), 'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
              'PATH': os.environ['PATH'], 'ANSIBLE_HOME': str(base / 'ansible-home')}
    # Job templates: the clouds file and the keys, two credentials.
    clouds = {'clouds': {LAB: {'provider': 'local'}, 'aws-elsewhere': elsewhere}}
    envvars = inject('clouds-file', {'clouds_file': yaml.safe_dump(clouds)}, secrets)
    envvars.update(inject('libcloud-keys', {'key': 'AKIAIOSFODNN7EXAMPLE', 'secret': SECRET}, secrets))
    envvars.update(common)
    (private / 'env').mkdir()
    (private / 'env' / 'envvars').write_text(yaml.safe_dump(envvars))
    # The inventory source: one credential, a clouds file with the keys in it.
    fleet = {'clouds': {LAB: {'provider': 'local'},
                        'aws-elsewhere': dict(elsewhere, key='AKIAIOSFODNN7EXAMPLE', secret=SECRET)}}
    inventory_env = dict(inject('clouds-file', {'clouds_file': yaml.safe_dump(fleet)}, secrets / 'fleet'), **common)
    purge_lab(LAB)
    yield {'private': private, 'envvars': envvars, 'inventory_env': inventory_env, 'reports': base / 'reports',
           'secrets': secrets}
    purge_lab(LAB)


def results_store_credential(job_dir, dsn, pushgateway_url):
    """The job templates' environment with a results store credential attached, as the validate
    job template has it: a schema of its own in the harness's PostgreSQL, and the Pushgateway."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute('DROP SCHEMA IF EXISTS awx CASCADE')
        connection.execute('CREATE SCHEMA awx')
    store = psycopg.conninfo.make_conninfo(dsn, options='-c search_path=awx')
    credential = inject('results-store', {'dsn': store, 'pushgateway_url': pushgateway_url}, job_dir['secrets'])
    envvars = dict(job_dir['envvars'], **credential)
    (job_dir['private'] / 'env' / 'envvars').write_text(yaml.safe_dump(envvars))
    return store


def pushed(pushgateway_url, run_id):
    """{family: value} of what the run on the test lab pushed to the Pushgateway."""
    with urllib.request.urlopen(pushgateway_url + '/metrics', timeout=10) as response:
        text = response.read().decode('utf-8')
    return {sample.name: sample.value for family in text_string_to_metric_families(text) for sample in family.samples
            if sample.labels.get('job') == 'cloudops_validation' and sample.labels.get('run_id') == run_id
            and sample.labels.get('cloud') == LAB}


def survey_answers(template, **answers):
    """What a launch with the survey's defaults, and ``answers``, sends as extra vars."""
    spec = next(t for t in load('job-templates.yml') if t['name'] == template)['survey_spec']['spec']
    return dict({q['variable']: q['default'] for q in spec}, **answers)


def run_job(job_dir, template, ident, **answers):
    playbook = next(t for t in load('job-templates.yml') if t['name'] == template)['playbook']
    extravars = survey_answers(template, **answers)
    (job_dir['private'] / 'env' / 'extravars').write_text(yaml.safe_dump(extravars))
    return ansible_runner.run(private_data_dir=str(job_dir['private']), playbook=playbook, ident=ident,
                              quiet=True, timeout=900)


def events_text(runner):
    return '\n'.join(json.dumps(event) for event in runner.events)


def workflow_order():
    """provision, validate, teardown: the workflow's nodes along success and always edges; a
    failed provision goes to teardown as well."""
    nodes = {n['identifier']: n for n in load('workflow.yml')['workflow_nodes']}
    assert nodes['provision']['related']['failure_nodes'] == [{'identifier': 'teardown'}]
    order, node = [], nodes['provision']
    while node:
        order.append(node['unified_job_template']['name'])
        related = node.get('related', {})
        follow = related.get('success_nodes') or related.get('always_nodes')
        node = nodes[follow[0]['identifier']] if follow else None
    return order


def test_workflow_jobs_and_inventory_update_under_ansible_runner(job_dir, installed, postgresql_dsn, pushgateway_url,
                                                                 run):
    assert workflow_order() == ['cloudops provision', 'cloudops validate', 'cloudops teardown']
    answers = {'cloud': LAB, 'run_id': 'awx-t1', 'report_dir': str(job_dir['reports'])}

    provision = run_job(job_dir, 'cloudops provision', 'provision', **answers)
    assert (provision.status, provision.rc) == ('successful', 0), provision.stdout.read()[-3000:]
    assert len(lab_namespaces(PREFIX + LAB + '-vm-')) == 2

    # The inventory update AWX runs for the project's source, with the same credentials.
    listing = job_dir['private'].parent / 'inventory.json'
    out, err, rc = ansible_runner.run_command(
        executable_cmd=str(BIN / 'ansible-inventory'),
        cmdline_args=['-i', str(job_dir['private'] / 'project' / 'inventory' / 'fleet.clouds.yml'), '--list',
                      '--export', '--output', str(listing)],
        envvars=job_dir['inventory_env'], quiet=True)
    assert rc == 0, out + err
    inventory = json.loads(listing.read_text())
    fleet = {name: vars_['cloudops']['name']['__ansible_unsafe'] for name, vars_ in inventory['_meta']['hostvars'].items()}
    assert sorted(fleet.values()) == ['db', 'web']
    assert set(inventory['run_awx_t1']['hosts']) == set(fleet)
    (error,) = inventory['all']['vars']['_inventory_errors']
    assert error['cloud']['__ansible_unsafe'] == 'aws-elsewhere'
    assert 'cloud aws-elsewhere was not listed' in out + err
    assert SECRET not in out + err + listing.read_text()

    # The validate job template's results store credential: a PostgreSQL DSN and a Pushgateway.
    store = results_store_credential(job_dir, postgresql_dsn, pushgateway_url)
    password = psycopg.conninfo.conninfo_to_dict(postgresql_dsn)['password']
    validate = run_job(job_dir, 'cloudops validate', 'validate', **answers)
    assert (validate.status, validate.rc) == ('successful', 0), validate.stdout.read()[-3000:]
    stats = next(e for e in validate.events if e['event'] == 'playbook_on_stats')
    summary = stats['event_data']['artifact_data']['validate_summary']
    assert summary['verdict'] == 'pass' and summary['failed'] == 0 and summary['passed'] == summary['checks'] > 0
    assert summary['run_id'] == 'awx-t1' and summary['cloud'] == LAB and summary['regressions'] == []
    assert pathlib.Path(summary['report_files']['json']).parent == job_dir['reports']
    assert json.loads(pathlib.Path(summary['report_files']['json']).read_text())['summary']['verdict'] == 'pass'
    assert pushed(pushgateway_url, 'awx-t1')['cloudops_validation_passed'] == 1

    # The scheduled run after someone removed the database rule: the job fails on the regression,
    # and set_stats carries the regressions list for the workflow's notification.
    assert run('security_group', name='db', rules=[{'protocol': 'icmp'}])['changed']
    again = run_job(job_dir, 'cloudops validate', 'validate-again', **answers)
    assert (again.status, again.rc) == ('failed', 2), again.stdout.read()[-3000:]
    stats = next(e for e in again.events if e['event'] == 'playbook_on_stats')
    summary = stats['event_data']['artifact_data']['validate_summary']
    assert summary['regressions'] == ['regression reach l2'], summary
    assert summary['failed_checks'] == ['reach web->db tcp/5432', 'regression reach l2']
    report = json.loads(pathlib.Path(summary['report_files']['json']).read_text())
    assert report['baseline']['run_id'] == 'awx-t1' and report['baseline']['verdict'] == 'pass'
    assert pushed(pushgateway_url, 'awx-t1')['cloudops_validation_regressions'] == 1
    with psycopg.connect(store) as connection:
        verdicts = [v for (v,) in connection.execute('SELECT verdict FROM cloudops_runs ORDER BY run_key')]
    assert verdicts == ['pass', 'fail']

    teardown = run_job(job_dir, 'cloudops teardown', 'teardown', **answers)
    assert (teardown.status, teardown.rc) == ('successful', 0), teardown.stdout.read()[-3000:]
    assert lab_namespaces(PREFIX + LAB + '-vm-') == []

    for job in (provision, validate, again, teardown):
        stdout = (job_dir['private'] / 'artifacts' / job.config.ident / 'stdout').read_text()
        assert SECRET not in stdout and SECRET not in events_text(job)
        assert password not in stdout and password not in events_text(job)


def test_ansible_builder_finds_the_dependencies(installed, tmp_path):
    introspected = subprocess.run([str(BIN / 'ansible-builder'), 'introspect', '--sanitize', str(installed['path'])],
                                  capture_output=True, text=True, check=True, timeout=120).stdout
    data = yaml.safe_load(introspected.split('\n', 1)[1])
    python = {line.split()[0] for line in data['python']}
    system = {line.split('  #')[0] for line in data['system']}
    assert python == {'cryptography', 'openstacksdk>=4.0', 'apache-libcloud>=3.8', 'psycopg[binary]>=3.1'}
    assert {'iproute2 [platform:dpkg]', 'nftables', 'iperf3', 'util-linux'} <= system
    assert not any('ansible-core' in line or '<' in line for line in data['python']), 'no ansible-core, no upper pins'

    shutil.copy(AWX / 'execution-environment.yml', tmp_path)
    shutil.copy(installed['tarball'], tmp_path)
    subprocess.run([str(BIN / 'ansible-builder'), 'create', '-f', 'execution-environment.yml', '--context', 'context',
                    '--output-filename', 'Containerfile'], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    context = tmp_path / 'context'
    assert (context / '_build' / 'collections' / installed['tarball'].name).is_file()
    assert yaml.safe_load((context / '_build' / 'requirements.yml').read_text()) == {
        'collections': [{'name': 'collections/' + installed['tarball'].name, 'type': 'file'}]}
    assert 'ansible-galaxy collection install' in (context / 'Containerfile').read_text()
